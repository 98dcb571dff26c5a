"""The MLlib pipeline built from spec.model, and the metrics train reports. Pure: nothing here reads
or writes the lake."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pyspark import StorageLevel
from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import GBTRegressor, LinearRegression, RandomForestRegressor
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .spec import DERIVED_FEATURES, MODEL_ALGORITHMS, RecentFeature, Spec

FEATURES_COL = "_features"
# The hour of event time a recent feature's means are keyed by.
RECENT_HOUR_COL = "_recent_hour"
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


def build_pipeline(spec: Spec, algorithm: str = "linear", seed: int = 42, categories: int = 0) -> Pipeline:
    """[Imputer of the recent features ->] StringIndexer (unseen values kept in their own bucket) ->
    OneHotEncoder (linear only) -> VectorAssembler -> regressor for spec.model.label. Trees split the
    indexed categories as categories (ordered by their mean label), which one-hot columns would
    spread over hundreds of binary splits; `categories` is the most distinct values any categorical
    feature has (tree_categories), as trees need a bin for each."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not '{algorithm}'")
    assert spec.model is not None
    plan = plan_features(spec, algorithm)
    stages = []
    encoded: list[str] = []
    numeric = list(plan.numeric)
    recent = [n for n in numeric if spec.model.recent_feature(n)]
    if recent:
        # An event whose key had no events in the hours before it (a new airport, the lake's first
        # hours) gets the training rows' mean of that feature, saved with the model.
        imputed = [f"_imp_{n}" for n in recent]
        stages.append(Imputer(inputCols=recent, outputCols=imputed, strategy="mean"))
        numeric = [f"_imp_{n}" if n in recent else n for n in numeric]
    if plan.categorical:
        indexed = [f"_idx_{c}" for c in plan.categorical]
        stages.append(StringIndexer(inputCols=list(plan.categorical), outputCols=indexed, handleInvalid="keep"))
        if algorithm == "linear":
            encoded = [f"_ohe_{c}" for c in plan.categorical]
            stages.append(OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"))
        else:
            encoded = indexed
    # 'keep' turns a NULL numeric feature into NaN (and a NaN prediction) instead of failing the job
    # or dropping the row: score must answer every event.
    stages.append(VectorAssembler(inputCols=[*numeric, *encoded], outputCol=FEATURES_COL, handleInvalid="keep"))
    stages.append(regressor(spec.model.label, algorithm, seed, categories))
    return Pipeline(stages=stages)


# Trees' default number of bins for a continuous feature.
DEFAULT_MAX_BINS = 32


def regressor(label: str, algorithm: str, seed: int = 42, categories: int = 0) -> LinearRegression | GBTRegressor | RandomForestRegressor:
    """The pipeline's last stage, with the settings train uses when it does not tune. A tree gets a
    bin per category, and one for the values StringIndexer keeps aside (unseen ones)."""
    cols = {"featuresCol": FEATURES_COL, "labelCol": label, "predictionCol": PREDICTION_COL}
    if algorithm == "linear":
        # A little L2 keeps the normal equations solvable when one-hot columns are collinear.
        return LinearRegression(**cols, regParam=0.01, elasticNetParam=0.0, maxIter=50)
    bins = max(DEFAULT_MAX_BINS, categories + 1)
    if algorithm == "gbt":
        # 20 trees of depth 6 on every row, a step of 0.2, leaves of 20 or more: on the flights demo's
        # 200,000 events 10.7% under the mean's RMSE, against 8.8% with depth 5 and steps of 0.1 on
        # half the rows each; 40 trees of 0.1 did 10.9% in half as long again.
        return GBTRegressor(**cols, maxIter=20, maxDepth=6, stepSize=0.2, subsamplingRate=1.0, minInstancesPerNode=20, maxBins=bins, seed=seed)
    return RandomForestRegressor(**cols, numTrees=30, maxDepth=8, subsamplingRate=0.8, featureSubsetStrategy="onethird", maxBins=bins, seed=seed)


def tree_categories(frame: DataFrame, spec: Spec, algorithm: str) -> int:
    """The most distinct values of any categorical feature in `frame` (0 for linear, or none)."""
    plan = plan_features(spec, algorithm)
    if algorithm == "linear" or not plan.categorical:
        return 0
    row = frame.agg(*[F.countDistinct(c).alias(c) for c in plan.categorical]).first()
    return max(int(row[c]) for c in plan.categorical) if row else 0


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
    """The label (as double) and the features, without rows that lack any of them. Recent features
    are computed from the same events (with_recent); a row without one is kept (the model imputes it)."""
    assert spec.model is not None
    model = spec.model
    if model.recent:
        events = with_recent(events, recent_label_means(events, spec), spec)
    cols = [model.label, *(f for f in model.features if not model.recent_feature(f))]
    frame = events.select(F.col(model.label).cast("double").alias(model.label), *model.features)
    return frame.dropna(subset=cols)


def _hour(spec: Spec) -> Column:
    return F.date_trunc("hour", F.col(spec.event_time))


def recent_label_means(events: DataFrame, spec: Spec) -> dict[str, DataFrame]:
    """For each key (`by`) of spec.model.recent, one table of (by, RECENT_HOUR_COL, and each of that
    key's recent features): a feature is the mean label of the events with that `by` value whose
    event time falls in its `hours` whole hours before that hour (NULL when none). Only the past
    counts, never the event's own hour, so training sees what scoring can know. One table a key,
    not a feature: one aggregation for training, and one broadcast per real-time batch for score.
    Train computes it from the events it trains on, score from the lake's events when it starts."""
    assert spec.model is not None
    label = spec.model.label
    by_key: dict[str, list[RecentFeature]] = {}
    for r in spec.model.recent:
        by_key.setdefault(r.by, []).append(r)
    tables: dict[str, DataFrame] = {}
    for by, features in by_key.items():
        hourly = (
            events.where(F.col(label).isNotNull() & F.col(by).isNotNull())
            .groupBy(by, _hour(spec).alias(RECENT_HOUR_COL))
            .agg(F.sum(F.col(label).cast("double")).alias("_sum"), F.count(F.lit(1)).alias("_n"))
        )
        tables[by] = _following_hours(hourly, by, features)
    return tables


def _following_hours(hourly: DataFrame, by: str, features: list[RecentFeature]) -> DataFrame:
    """Each hour's sum and count counted towards the hours after it, up to each feature's `hours`."""
    ahead = F.explode(F.sequence(F.lit(1), F.lit(max(r.hours for r in features)))).alias("_ahead")
    shifted = hourly.select(by, "_sum", "_n", F.col(RECENT_HOUR_COL).alias("_from"), ahead)
    shifted = shifted.withColumn(RECENT_HOUR_COL, F.timestamp_seconds(F.unix_seconds(F.col("_from")) + F.col("_ahead") * 3600))
    within = lambda r, c: F.when(F.col("_ahead") <= r.hours, F.col(c))  # noqa: E731
    return shifted.groupBy(by, RECENT_HOUR_COL).agg(*((F.sum(within(r, "_sum")) / F.sum(within(r, "_n"))).alias(r.name) for r in features))


# How many hours of event time before the lake's latest score keeps the recent means of.
RECENT_SNAPSHOT_HOURS = 48


def recent_snapshot(events: DataFrame, spec: Spec, keep_hours: int = RECENT_SNAPSHOT_HOURS) -> dict[str, DataFrame]:
    """What score joins its stream with: recent_label_means for the hours from `keep_hours` before
    the lake's latest event hour on (and the `hours` after it that those still count towards),
    collected once into small local tables. Events of later hours find none and get the model's
    imputed mean, until score starts again."""
    assert spec.model is not None
    row = events.agg(F.max(_hour(spec))).first()
    latest = row[0] if row is not None else None
    spark = events.sparkSession
    if latest is None:  # an empty lake: no means yet
        return {by: spark.createDataFrame([], table.schema) for by, table in recent_label_means(events, spec).items()}
    hours_before = lambda n: F.lit(latest) - F.expr(f"INTERVAL {int(n)} HOURS")  # noqa: E731
    # Only the events these hours' means are made of are read (row groups skipped by their
    # statistics), once for all the tables.
    back = keep_hours + max(r.hours for r in spec.model.recent)
    events = events.where(F.col(spec.event_time) >= hours_before(back)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        tables = recent_label_means(events, spec)
        # One partition each: each real-time batch broadcasts them again, one task a table.
        return {by: spark.createDataFrame(table.where(F.col(RECENT_HOUR_COL) >= hours_before(keep_hours)).collect(), table.schema).coalesce(1) for by, table in tables.items()}
    finally:
        events.unpersist()


def with_recent(events: DataFrame, tables: Mapping[str, DataFrame], spec: Spec) -> DataFrame:
    """events with each recent feature joined on (by, the event's hour) from `tables`, one per key
    (recent_label_means); NULL where the table has no such hour. The tables are broadcast: a
    streaming `events` (score, also in real-time mode) joins them without state. In training they
    cover every hour of the lake, a row per key and hour (about 400,000 for two months of flights),
    and a broadcast still beats the sort-merge join Spark picks without the hint: on the bench's
    lake of 3.4M flights, training took more than twice as long without it."""
    assert spec.model is not None
    out = events.withColumn(RECENT_HOUR_COL, _hour(spec))
    for by, table in tables.items():
        out = out.join(F.broadcast(table), on=[by, RECENT_HOUR_COL], how="left")
    return out.drop(RECENT_HOUR_COL)


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
