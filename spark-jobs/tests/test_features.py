import pytest
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import GBTRegressor, LinearRegression, RandomForestRegressor
from pyspark.ml.tuning import TrainValidationSplit

from conftest import synthetic_flights
from millrace_pipeline.features import (
    FeaturePlan,
    TUNING_GRIDS,
    build_pipeline,
    chosen_params,
    label_mean,
    plan_features,
    regression_metrics,
    training_frame,
    tuned,
)


def test_string_fields_are_categorical_and_derived_times_depend_on_the_algorithm(flights):
    assert plan_features(flights, "linear") == FeaturePlan(("distance",), ("hour_of_day", "day_of_week", "origin", "destination"))
    assert plan_features(flights, "gbt") == FeaturePlan(("distance", "hour_of_day", "day_of_week"), ("origin", "destination"))


def test_pipeline_stages(spark, flights):  # ML stages need a live SparkContext
    stages = build_pipeline(flights, "linear").getStages()
    assert [type(s) for s in stages] == [StringIndexer, OneHotEncoder, VectorAssembler, LinearRegression]
    indexer, encoder, assembler, regressor = stages
    assert indexer.getInputCols() == ["hour_of_day", "day_of_week", "origin", "destination"]
    assert indexer.getHandleInvalid() == "keep" and encoder.getHandleInvalid() == "keep"
    assert assembler.getInputCols() == ["distance", "_ohe_hour_of_day", "_ohe_day_of_week", "_ohe_origin", "_ohe_destination"]
    assert regressor.getLabelCol() == "delay" and regressor.getPredictionCol() == "prediction"
    assert type(build_pipeline(flights, "gbt").getStages()[-1]) is GBTRegressor
    assert type(build_pipeline(flights, "random_forest").getStages()[-1]) is RandomForestRegressor
    with pytest.raises(ValueError, match="algorithm must be one of linear, gbt, random_forest, not 'forest'"):
        build_pipeline(flights, "forest")


def test_training_frame_keeps_label_and_features_and_drops_incomplete_rows(spark, flights):
    df = spark.createDataFrame(
        [(1, 100, 3, 2, "A", "B", "x"), (None, 100, 3, 2, "A", "B", "x"), (2, 100, 3, 2, None, "B", "x")],
        "delay int, distance int, hour_of_day int, day_of_week int, origin string, destination string, other string",
    )
    frame = training_frame(df, flights)
    assert frame.columns == ["delay", "distance", "hour_of_day", "day_of_week", "origin", "destination"]
    assert dict(frame.dtypes)["delay"] == "double"
    assert frame.count() == 1


def test_metrics_and_baseline_on_known_values(spark):
    df = spark.createDataFrame([(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 5.0)], "y double, prediction double")
    m = regression_metrics(df, "y", baseline=2.5)
    assert m["rmse"] == pytest.approx(0.5)
    assert m["mae"] == pytest.approx(0.25)
    assert m["r2"] == pytest.approx(0.8)  # 1 - 0.25 / 1.25
    assert m["baseline_rmse"] == pytest.approx(1.25 ** 0.5)
    assert m["baseline_mae"] == pytest.approx(1.0)
    assert m["rows_test"] == 4


def test_a_tiny_training_run_beats_the_mean_baseline(spark, flights):
    frame = training_frame(synthetic_flights(spark, 1500, seed=1), flights).cache()
    train, test = frame.randomSplit([0.8, 0.2], seed=7)
    model = build_pipeline(flights, "linear").fit(train)
    m = regression_metrics(model.transform(test), "delay", label_mean(train, "delay"))
    assert m["rmse"] < 0.6 * m["baseline_rmse"]
    assert m["mae"] < m["baseline_mae"]
    assert m["r2"] > 0.5
    # An airport the model never saw still gets a prediction (its own 'unknown' bucket).
    unseen = spark.createDataFrame([(300, 18, 3, "XXX", "JFK")], "distance int, hour_of_day int, day_of_week int, origin string, destination string")
    assert model.transform(unseen).first()["prediction"] is not None
    frame.unpersist()


@pytest.mark.parametrize("algorithm", ["random_forest", "gbt"])
def test_trees_beat_the_mean_baseline(spark, flights, algorithm):
    frame = training_frame(synthetic_flights(spark, 1500, seed=1), flights).cache()
    train, test = frame.randomSplit([0.8, 0.2], seed=7)
    model = build_pipeline(flights, algorithm).fit(train)
    m = regression_metrics(model.transform(test), "delay", label_mean(train, "delay"))
    frame.unpersist()
    assert m["rmse"] < 0.8 * m["baseline_rmse"]


def test_tuning_tries_the_grid_and_keeps_the_best_fit(spark, flights):
    frame = training_frame(synthetic_flights(spark, 1500, seed=1), flights).cache()
    pipeline = build_pipeline(flights, "linear")
    split = tuned(pipeline, flights, "linear", seed=3)
    assert isinstance(split, TrainValidationSplit) and split.getTrainRatio() == 0.8
    assert len(split.getEstimatorParamMaps()) == 6
    fitted = split.fit(frame)
    frame.unpersist()
    # One validation RMSE per setting; the best model is the one with the lowest, refitted.
    scores = list(fitted.validationMetrics)
    assert len(scores) == 6
    best = split.getEstimatorParamMaps()[scores.index(min(scores))]
    params = chosen_params(fitted.bestModel, "linear")
    assert params == {p.name: v for p, v in best.items()}
    assert set(params) == set(TUNING_GRIDS["linear"])
