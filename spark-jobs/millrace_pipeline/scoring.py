"""Pure transforms of score: model output -> prediction records -> Kafka messages."""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .features import PREDICTION_COL
from .spec import Spec
from .transforms import PRODUCED_AT_HEADER, RAW_KEY

MODEL_VERSION_HEADER = "millrace-model-version"
# The producer's format: 2001-01-14T21:45:00.000Z (the session time zone is UTC).
ISO_MILLIS = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"


def prediction_columns(spec: Spec) -> list[str]:
    label = [spec.model.label] if spec.model else []
    return [RAW_KEY, spec.id, PREDICTION_COL, "model_version", "event_time", "produced_at", "scored_at", *label, "kafka_partition", "kafka_offset"]


def prediction_records(scored: DataFrame, spec: Spec, model_version: Column) -> DataFrame:
    """One row per scored event. `_key` is the input record's Kafka key, so predictions are keyed like
    the input. The label is kept when the event carried it, to compare against later. A NaN prediction
    (a NULL numeric feature) becomes NULL: NaN is not JSON."""
    pred = F.col(PREDICTION_COL).cast("double")
    return scored.withColumns(
        {
            PREDICTION_COL: F.when(~F.isnan(pred), pred),
            "model_version": model_version,
            "scored_at": F.current_timestamp(),
        }
    ).select(*prediction_columns(spec))


# A/B buckets: an event's share position, 0 to 9999, from a hash of its id.
AB_BUCKETS = 10_000


def ab_bucket(spec: Spec, seed: int = 0) -> Column:
    """Which A/B bucket an event falls in: the same event id always in the same bucket (for a seed),
    whichever job, batch or partition scores it, so a re-scored event keeps its version."""
    return F.pmod(F.xxhash64(F.lit(seed), F.col(spec.id)), F.lit(AB_BUCKETS))


def to_challenger(spec: Spec, share: float, seed: int = 0) -> Column:
    """True for the events the challenger scores: about `share` of them."""
    return ab_bucket(spec, seed) < F.lit(int(round(share * AB_BUCKETS)))


def _iso(col: str) -> Column:
    return F.date_format(F.col(col), ISO_MILLIS)


def kafka_messages(predictions: DataFrame, spec: Spec) -> DataFrame:
    """key, value (JSON) and headers for the Kafka sink. The value holds the id, prediction, model
    version and times as ISO-8601 UTC strings; headers carry millrace-produced-at through unchanged
    (epoch ms), so produce-to-prediction latency can be read off the predictions topic."""
    value_fields = [F.col(spec.id), F.col(PREDICTION_COL), F.col("model_version")]
    value_fields += [_iso(c).alias(c) for c in ("event_time", "produced_at", "scored_at")]
    if spec.model:
        value_fields.append(F.col(spec.model.label))
    headers = F.array(
        F.struct(F.lit(PRODUCED_AT_HEADER).alias("key"), F.unix_millis("produced_at").cast("string").cast("binary").alias("value")),
        F.struct(F.lit(MODEL_VERSION_HEADER).alias("key"), F.col("model_version").cast("binary").alias("value")),
    )
    return predictions.select(
        F.col(RAW_KEY).alias("key"),
        F.to_json(F.struct(*value_fields), {"ignoreNullFields": "false"}).alias("value"),
        F.filter(headers, lambda h: h["value"].isNotNull()).alias("headers"),
    )


def lake_predictions(predictions: DataFrame) -> DataFrame:
    """What score writes to predictions/: the records, with the input's Kafka key as kafka_key."""
    return predictions.withColumnRenamed(RAW_KEY, "kafka_key")


def errors_by_version(predictions: DataFrame, label: str) -> list[dict[str, float | int | str]]:
    """Each model version's error on the predictions whose event carried its label (A/B: the versions
    side by side on the events each scored): predictions, rmse, mae and the mean prediction, by version."""
    y, p = F.col(label).cast("double"), F.col(PREDICTION_COL)
    rows = (
        predictions.where(y.isNotNull() & p.isNotNull())
        .groupBy("model_version")
        .agg(
            F.count(F.lit(1)).alias("predictions"),
            F.sqrt(F.avg((p - y) * (p - y))).alias("rmse"),
            F.avg(F.abs(p - y)).alias("mae"),
            F.avg(p).alias("mean_prediction"),
        )
        .orderBy("model_version")
        .collect()
    )
    return [{"model_version": r["model_version"], "predictions": int(r["predictions"]), **{k: round(float(r[k]), 4) for k in ("rmse", "mae", "mean_prediction")}} for r in rows]
