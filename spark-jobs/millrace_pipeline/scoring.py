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


def prediction_records(scored: DataFrame, spec: Spec, model_version: str) -> DataFrame:
    """One row per scored event. `_key` is the input record's Kafka key, so predictions are keyed like
    the input. The label is kept when the event carried it, to compare against later. A NaN prediction
    (a NULL numeric feature) becomes NULL: NaN is not JSON."""
    pred = F.col(PREDICTION_COL).cast("double")
    return scored.withColumns(
        {
            PREDICTION_COL: F.when(~F.isnan(pred), pred),
            "model_version": F.lit(model_version),
            "scored_at": F.current_timestamp(),
        }
    ).select(*prediction_columns(spec))


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
