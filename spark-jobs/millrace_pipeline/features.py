"""The MLlib pipeline built from spec.model, and the metrics train reports. Pure: nothing here reads
or writes the lake."""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import GBTRegressor, LinearRegression, RandomForestRegressor
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .spec import DERIVED_FEATURES, MODEL_ALGORITHMS, Spec

FEATURES_COL = "_features"
PREDICTION_COL = "prediction"
ALGORITHMS = MODEL_ALGORITHMS


@dataclass(frozen=True)
class FeaturePlan:
    """How each feature enters the model."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]


def plan_features(spec: Spec, algorithm: str = "linear") -> FeaturePlan:
    """String fields are categorical. hour_of_day and day_of_week are categorical for the linear model
    (delay is not linear in the hour) and numeric for trees, which split them as they need."""
    if spec.model is None:
        raise ValueError(f"spec '{spec.name}' has no model section")
    numeric, categorical = [], []
    for name in spec.model.features:
        field = spec.field(name)
        if field is not None and field.type == "string":
            categorical.append(name)
        elif name in DERIVED_FEATURES and algorithm == "linear":
            categorical.append(name)
        else:
            numeric.append(name)
    return FeaturePlan(tuple(numeric), tuple(categorical))


def build_pipeline(spec: Spec, algorithm: str = "linear", seed: int = 42) -> Pipeline:
    """StringIndexer (unseen values kept in their own bucket) -> OneHotEncoder -> VectorAssembler ->
    regressor for spec.model.label."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not '{algorithm}'")
    assert spec.model is not None
    plan = plan_features(spec, algorithm)
    stages = []
    encoded: list[str] = []
    if plan.categorical:
        indexed = [f"_idx_{c}" for c in plan.categorical]
        stages.append(StringIndexer(inputCols=list(plan.categorical), outputCols=indexed, handleInvalid="keep"))
        encoded = [f"_ohe_{c}" for c in plan.categorical]
        stages.append(OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"))
    # 'keep' turns a NULL numeric feature into NaN (and a NaN prediction) instead of failing the job
    # or dropping the row: score must answer every event.
    stages.append(VectorAssembler(inputCols=[*plan.numeric, *encoded], outputCol=FEATURES_COL, handleInvalid="keep"))
    stages.append(regressor(spec.model.label, algorithm, seed))
    return Pipeline(stages=stages)


def regressor(label: str, algorithm: str, seed: int = 42) -> LinearRegression | GBTRegressor | RandomForestRegressor:
    """The pipeline's last stage, with the settings train uses when it does not tune."""
    cols = {"featuresCol": FEATURES_COL, "labelCol": label, "predictionCol": PREDICTION_COL}
    if algorithm == "linear":
        # A little L2 keeps the normal equations solvable when one-hot columns are collinear.
        return LinearRegression(**cols, regParam=0.01, elasticNetParam=0.0, maxIter=50)
    if algorithm == "gbt":
        return GBTRegressor(**cols, maxIter=20, maxDepth=5, subsamplingRate=0.5, seed=seed)
    return RandomForestRegressor(**cols, numTrees=30, maxDepth=8, subsamplingRate=0.8, featureSubsetStrategy="onethird", seed=seed)


# What tuning tries, per algorithm: kept small (6 or 4 fits) because every fit is a full training run.
TUNING_GRIDS: dict[str, dict[str, list[float]]] = {
    "linear": {"regParam": [0.001, 0.01, 0.1], "elasticNetParam": [0.0, 0.5]},
    "gbt": {"maxDepth": [4, 6], "maxIter": [20, 40]},
    "random_forest": {"maxDepth": [6, 10], "numTrees": [20, 40]},
}


def tuned(pipeline: Pipeline, spec: Spec, algorithm: str, seed: int = 42) -> TrainValidationSplit:
    """The pipeline wrapped in a TrainValidationSplit (spec.model.tuning): each setting of the
    algorithm's grid is fitted on 80% of the training rows and judged by RMSE on the other 20%; the
    best is refitted on all of them."""
    assert spec.model is not None
    last = pipeline.getStages()[-1]
    grid = ParamGridBuilder()
    for name, values in TUNING_GRIDS[algorithm].items():
        grid = grid.addGrid(last.getParam(name), values)
    evaluator = RegressionEvaluator(labelCol=spec.model.label, predictionCol=PREDICTION_COL, metricName="rmse")
    return TrainValidationSplit(estimator=pipeline, estimatorParamMaps=grid.build(), evaluator=evaluator, trainRatio=0.8, seed=seed)


def chosen_params(pipeline_model: object, algorithm: str) -> dict[str, float]:
    """The settings of the fitted pipeline's regressor that tuning varies for this algorithm."""
    last = pipeline_model.stages[-1]  # type: ignore[attr-defined]
    return {name: last.getOrDefault(name) for name in TUNING_GRIDS[algorithm]}


def training_frame(events: DataFrame, spec: Spec) -> DataFrame:
    """The label (as double) and the features, without rows that lack any of them."""
    assert spec.model is not None
    cols = [spec.model.label, *spec.model.features]
    frame = events.select(F.col(spec.model.label).cast("double").alias(spec.model.label), *spec.model.features)
    return frame.dropna(subset=cols)


def regression_metrics(predictions: DataFrame, label: str, baseline: float) -> dict[str, float | int]:
    """rmse, mae and r2 of `prediction`, and of the constant `baseline`, in one pass over `predictions`.
    r2 is against the test set's own mean, as RegressionEvaluator computes it."""
    y, p = F.col(label), F.col(PREDICTION_COL)
    row = predictions.agg(
        F.count(F.lit(1)).alias("n"),
        F.avg((y - p) * (y - p)).alias("mse"),
        F.avg(F.abs(y - p)).alias("mae"),
        F.avg((y - F.lit(baseline)) * (y - F.lit(baseline))).alias("baseline_mse"),
        F.avg(F.abs(y - F.lit(baseline))).alias("baseline_mae"),
        F.var_pop(y).alias("var"),
    ).first()
    assert row is not None
    if not row["n"]:
        raise ValueError("no rows to evaluate on")
    var = row["var"]
    return {
        "rmse": float(row["mse"]) ** 0.5,
        "mae": float(row["mae"]),
        "r2": 1.0 - float(row["mse"]) / var if var else 0.0,
        "baseline_rmse": float(row["baseline_mse"]) ** 0.5,
        "baseline_mae": float(row["baseline_mae"]),
        "rows_test": int(row["n"]),
    }


def label_mean(frame: DataFrame, label: str) -> float:
    value = frame.agg(F.avg(F.col(label))).first()
    if value is None or value[0] is None:
        raise ValueError("no rows to train on")
    return float(value[0])
