from dataclasses import replace
from datetime import datetime

import pytest
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import GBTRegressor, LinearRegression, RandomForestRegressor
from pyspark.ml.tuning import TrainValidationSplit

from conftest import synthetic_flights
from millrace_pipeline.features import (
    FeaturePlan,
    TUNING_GRIDS,
    build_pipeline,
    recent_label_means,
    recent_snapshot,
    tree_categories,
    with_recent,
    chosen_params,
    label_mean,
    plan_features,
    regression_metrics,
    training_frame,
    tuned,
)


@pytest.fixture(scope="module")
def flights(flights):
    """The example spec's model without its recent features, and linear: these tests' data has no
    event times (the recent features' own tests are below, with the example spec as it is)."""
    model = replace(flights.model, features=tuple(f for f in flights.model.features if not flights.model.recent_feature(f)), recent=(), algorithm="linear")
    return replace(flights, model=model)


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
    # Trees split the indexed categories as they are: no one-hot columns.
    gbt = build_pipeline(flights, "gbt", categories=300).getStages()
    assert [type(s) for s in gbt] == [StringIndexer, VectorAssembler, GBTRegressor]
    assert gbt[1].getInputCols() == ["distance", "hour_of_day", "day_of_week", "_idx_origin", "_idx_destination"]
    assert gbt[-1].getMaxBins() == 301  # a bin per category, and one for the unseen
    assert build_pipeline(flights, "gbt").getStages()[-1].getMaxBins() == 32
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


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_recent_means_are_of_the_hours_before_the_events_own_hour_per_key(spark):
    from millrace_pipeline.spec import parse_spec

    spec = parse_spec({
        "name": "f", "topic": "f", "id": "event_id", "eventTime": "date",
        "fields": [{"name": "date", "type": "timestamp", "required": True}, {"name": "delay", "type": "int"}, {"name": "origin", "type": "string"}],
        "model": {"label": "delay", "features": ["origin", "o_1h", "o_3h"], "recent": [{"name": "o_1h", "by": "origin", "hours": 1}, {"name": "o_3h", "by": "origin", "hours": 3}]},
    })
    rows = [
        ("a1", at("2001-01-01 10:15:00"), 10, "A"),
        ("a2", at("2001-01-01 10:45:00"), 20, "A"),
        ("a3", at("2001-01-01 11:30:00"), 30, "A"),
        ("a4", at("2001-01-01 13:10:00"), 100, "A"),
        ("a5", at("2001-01-01 14:59:59"), None, "A"),
        ("b1", at("2001-01-01 11:00:00"), 5, "B"),
        ("b2", at("2001-01-01 12:00:00"), 7, "B"),
    ]
    events = spark.createDataFrame(rows, "event_id string, date timestamp, delay int, origin string")
    got = {r["event_id"]: (r["o_1h"], r["o_3h"]) for r in with_recent(events, recent_label_means(events, spec), spec).collect()}
    assert got == {
        "a1": (None, None),  # nothing before 10:00
        "a2": (None, None),  # its own hour does not count, nor does a1 in it
        "a3": (15.0, 15.0),  # hour 10: a1 and a2
        "a4": (None, 20.0),  # hour 12 had none; hours 10 to 12: a1, a2, a3
        "a5": (100.0, 65.0),  # an event without its label still gets the past: hour 13; hours 11 to 13
        "b1": (None, None),  # A's delays are not B's
        "b2": (5.0, 5.0),
    }
    # Training keeps a row that has no recent mean (the model imputes it), and drops one without its label.
    assert training_frame(events, spec).count() == 6
    # Score's snapshot: the same means, for the hours from keep_hours before the latest on.
    # One table for both features of the key (one broadcast per real-time batch), of one partition.
    snap = recent_snapshot(events, spec, keep_hours=1)
    assert list(snap) == ["origin"] and snap["origin"].rdd.getNumPartitions() == 1
    assert sorted((r["origin"], r["_recent_hour"].hour, r["o_1h"], r["o_3h"]) for r in snap["origin"].collect()) == [
        ("A", 13, None, 20.0), ("A", 14, 100.0, 65.0), ("A", 15, None, 100.0), ("A", 16, None, 100.0), ("B", 13, 7.0, 6.0), ("B", 14, None, 6.0), ("B", 15, None, 7.0),
    ]
    # An empty lake: empty tables, every event without a recent mean.
    empty = recent_snapshot(events.limit(0), spec)
    assert [t.count() for t in empty.values()] == [0]
    assert {r["o_3h"] for r in with_recent(events, empty, spec).collect()} == {None}


def test_the_example_flights_model_imputes_recent_features_and_splits_categories(spark):
    from conftest import FLIGHTS_YAML
    from millrace_pipeline.spec import load_spec

    spec = load_spec(str(FLIGHTS_YAML))
    assert spec.model.algorithm == "gbt" and [r.name for r in spec.model.recent] == ["origin_delay_1h", "origin_delay_3h", "destination_delay_1h", "destination_delay_3h"]
    stages = build_pipeline(spec, "gbt", categories=4).getStages()
    assert [type(s) for s in stages] == [Imputer, StringIndexer, VectorAssembler, GBTRegressor]
    assert stages[0].getInputCols() == ["origin_delay_1h", "origin_delay_3h", "destination_delay_1h", "destination_delay_3h"]
    # Hour by hour, ORD's delays run high for a while: a model that knows the hours before does better.
    import random

    rng = random.Random(5)
    rows = []
    for i in range(3000):
        hour = i // 60
        origin = rng.choice(["ORD", "ATL", "SFO", "LAS"])
        wave = 40.0 if origin == "ORD" and (hour // 5) % 2 == 1 else 0.0  # not in step with the hour of day
        rows.append((f"e{i}", datetime(2001, 1, 1 + hour // 24, hour % 24, rng.randrange(60)), int(wave + rng.gauss(0, 5)), 500, origin, "JFK", hour % 24, 1))
    events = spark.createDataFrame(rows, "event_id string, date timestamp, delay int, distance int, origin string, destination string, hour_of_day int, day_of_week int")
    frame = training_frame(events, spec).cache()
    assert tree_categories(frame, spec, "gbt") == 4 and tree_categories(frame, spec, "linear") == 0
    train, test = frame.randomSplit([0.8, 0.2], seed=7)
    model = build_pipeline(spec, "gbt", categories=4).fit(train)
    m = regression_metrics(model.transform(test), "delay", label_mean(train, "delay"))
    without = replace(spec, model=replace(spec.model, features=("distance", "hour_of_day", "day_of_week", "origin", "destination"), recent=()))
    plain = regression_metrics(build_pipeline(without, "gbt", categories=4).fit(train).transform(test), "delay", label_mean(train, "delay"))
    frame.unpersist()
    assert m["rmse"] < 0.6 * plain["rmse"] < 0.6 * m["baseline_rmse"], (m, plain)
    # An event with no recent means (an airport's first hour) still gets a prediction.
    lone = spark.createDataFrame([(500, 18, 3, "XXX", "JFK", None, None, None, None)], "distance int, hour_of_day int, day_of_week int, origin string, destination string, origin_delay_1h double, origin_delay_3h double, destination_delay_1h double, destination_delay_3h double")
    assert model.transform(lone).first()["prediction"] is not None
