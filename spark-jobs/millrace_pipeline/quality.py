"""Data quality of a pipeline's lake (issue 15), per day and per micro-batch.

- completeness: the rows that reached the lake (events and quarantine) against the records Kafka
  acknowledged, i.e. the records in the topic;
- duplicates: rows whose event id is already in the same day (or micro-batch);
- nulls per optional field;
- late events: produced more than `late_after` seconds after their event time;
- unknown fields: keys of the topic's JSON values that the spec does not name (ingest drops them);
- freshness: from a record's production to the Parquet file that holds it.

A day is the UTC day Kafka stamped the record (when it was acknowledged); a micro-batch is an
ingest batch, told apart by its `ingested_at` (the batch's start time). Pure DataFrame work here;
the job (quality.py) reads the lake and the topic and writes the results.
"""
from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, MapType, StringType, StructField, StructType

from .kafka import GROUP_PREFIX, kafka_security_options
from .spec import Spec

DAY = "day"


def _produced() -> Column:
    """A record's production time: the producer's header, else Kafka's timestamp."""
    return F.coalesce(F.col("produced_at"), F.col("kafka_timestamp"))


def _seconds(c: Column) -> Column:
    return F.unix_micros(c) / 1_000_000.0


def read_topic(spark: SparkSession, topic: str) -> DataFrame:
    """The whole topic as a batch: what Kafka holds now (a retention that removed records makes the
    acknowledged count, and so completeness, about what is left)."""
    opts = kafka_security_options(spark.conf)
    opts.update({"subscribe": topic, "startingOffsets": "earliest", "endingOffsets": "latest", "groupIdPrefix": f"{GROUP_PREFIX}quality", "failOnDataLoss": "false"})
    return spark.read.format("kafka").options(**opts).load().select("timestamp", "value")


def optional_fields(spec: Spec) -> list[str]:
    """The fields that may be null in the lake: the required ones never are (validation quarantines them)."""
    return [f.name for f in spec.fields if not f.required and f.name != spec.id]


def _event_measures(spec: Spec, late_after_s: float) -> list[Column]:
    nulls = [F.sum(F.when(F.col(f).isNull(), 1).otherwise(0)).alias(f"null:{f}") for f in optional_fields(spec)]
    late = (_seconds(_produced()) - _seconds(F.col("event_time"))) > late_after_s
    freshness = _seconds(F.col("landed_at")) - _seconds(_produced())
    return [
        F.count(F.lit(1)).alias("events"),
        F.countDistinct(F.col(spec.id)).alias("distinct_ids"),
        F.sum(F.when(late, 1).otherwise(0)).alias("late"),
        F.percentile_approx(freshness, 0.5, 1000).alias("freshness_p50_s"),
        F.max(freshness).alias("freshness_max_s"),
        *nulls,
    ]


def _row_out(r: dict[str, Any], spec: Spec) -> dict[str, Any]:
    events = int(r.get("events") or 0)
    return {
        "events": events,
        "duplicates": events - int(r.get("distinct_ids") or 0),
        "late": int(r.get("late") or 0),
        "nulls": {f: int(r.get(f"null:{f}") or 0) for f in optional_fields(spec)},
        "freshness_p50_s": None if r.get("freshness_p50_s") is None else round(float(r["freshness_p50_s"]), 3),
        "freshness_max_s": None if r.get("freshness_max_s") is None else round(float(r["freshness_max_s"]), 3),
    }


def with_landed_at(events: DataFrame) -> DataFrame:
    """Each row with the modification time of the Parquet file that holds it (read from the files)."""
    return events.withColumn("landed_at", F.col("_metadata.file_modification_time"))


def daily(spec: Spec, events: DataFrame | None, quarantine: DataFrame | None, topic: DataFrame | None, late_after_s: float) -> list[dict[str, Any]]:
    """One row per UTC day of acknowledgment, oldest first. `events` has landed_at (with_landed_at);
    `topic` is the topic read as a batch (timestamp, value), None where it cannot be read."""
    days: dict[str, dict[str, Any]] = {}

    def day_of(row: Any) -> dict[str, Any]:
        return days.setdefault(str(row[DAY]), {"period": str(row[DAY])})

    if events is not None:
        for r in events.groupBy(F.to_date(F.col("kafka_timestamp")).alias(DAY)).agg(*_event_measures(spec, late_after_s)).collect():
            day_of(r).update(_row_out(r.asDict(), spec))
    if quarantine is not None:
        for r in quarantine.groupBy(F.to_date(F.col("kafka_timestamp")).alias(DAY)).agg(F.count(F.lit(1)).alias("n")).collect():
            day_of(r)["quarantined"] = int(r["n"])
    if topic is not None:
        for r in topic.groupBy(F.to_date(F.col("timestamp")).alias(DAY)).agg(F.count(F.lit(1)).alias("n")).collect():
            day_of(r)["acknowledged"] = int(r["n"])
        known = {f.name for f in spec.fields} | {spec.id}
        keys = topic.select(F.to_date(F.col("timestamp")).alias(DAY), F.explode(F.json_object_keys(F.col("value").cast("string"))).alias("key"))
        for r in keys.where(~F.col("key").isin(*sorted(known))).groupBy(DAY, "key").agg(F.count(F.lit(1)).alias("n")).collect():
            day_of(r).setdefault("unknown_fields", {})[r["key"]] = int(r["n"])
    out = []
    for period in sorted(days):
        d = {"scope": "day", "acknowledged": None, "events": 0, "quarantined": 0, "duplicates": 0, "late": 0, "nulls": {f: 0 for f in optional_fields(spec)}, "unknown_fields": {}, "freshness_p50_s": None, "freshness_max_s": None, **days[period]}
        d["completeness"] = _completeness(d)
        out.append(d)
    return out


def _completeness(d: dict[str, Any]) -> float | None:
    ack = d.get("acknowledged")
    if not ack:
        return None
    return round((d["events"] + d["quarantined"]) / ack, 6)


def per_batch(spec: Spec, events: DataFrame, late_after_s: float, last: int = 50) -> list[dict[str, Any]]:
    """The last `last` ingest micro-batches, newest first (completeness is per day only: a batch's
    share of the topic is not in the lake)."""
    rows = events.groupBy(F.col("ingested_at").alias("batch")).agg(*_event_measures(spec, late_after_s)).orderBy(F.col("batch").desc()).limit(last).collect()
    return [{"scope": "batch", "period": r["batch"].isoformat(), **_row_out(r.asDict(), spec)} for r in rows]


def totals(days: list[dict[str, Any]]) -> dict[str, Any]:
    """The days summed: what the metrics and the summary line show."""
    t: dict[str, Any] = {"events": 0, "quarantined": 0, "duplicates": 0, "late": 0, "nulls": {}, "unknown_fields": {}, "freshness_max_s": None}
    acknowledged = [d["acknowledged"] for d in days if d.get("acknowledged") is not None]
    t["acknowledged"] = sum(acknowledged) if acknowledged else None
    for d in days:
        for k in ("events", "quarantined", "duplicates", "late"):
            t[k] += d.get(k) or 0
        for group in ("nulls", "unknown_fields"):
            for name, n in (d.get(group) or {}).items():
                t[group][name] = t[group].get(name, 0) + n
        if d.get("freshness_max_s") is not None:
            t["freshness_max_s"] = max(t["freshness_max_s"] or 0.0, d["freshness_max_s"])
    t["completeness"] = _completeness(t)
    return t


def quality_metrics(pipeline: str, t: dict[str, Any], computed_at: float) -> str:
    """The totals as a textfile for the node exporter (prometheus.py's directory)."""
    esc = lambda v: str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    p = f'pipeline="{esc(pipeline)}"'
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        if samples:
            lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *[f"{name}{{{p}{extra}}} {float(v)!r}" for extra, v in samples]])

    gauge("millrace_quality_computed_timestamp_seconds", "When `millrace quality` last measured the lake (Unix time).", [("", computed_at)])
    if t.get("completeness") is not None:
        gauge("millrace_quality_completeness_ratio", "Rows in the lake (events and quarantine) over the records the topic acknowledged.", [("", t["completeness"])])
    gauge("millrace_quality_rows", "Rows measured, by kind.", [(f',kind="{k}"', t[k] or 0) for k in ("acknowledged", "events", "quarantined", "duplicates", "late") if t.get(k) is not None])
    gauge("millrace_quality_null_values", "Null values in the lake's events, per optional field.", [(f',field="{esc(f)}"', n) for f, n in sorted(t["nulls"].items())])
    gauge("millrace_quality_unknown_field_records", "Records of the topic with a field the spec does not name (ingest drops it), per field.", [(f',field="{esc(f)}"', n) for f, n in sorted(t["unknown_fields"].items())])
    if t.get("freshness_max_s") is not None:
        gauge("millrace_quality_freshness_max_seconds", "The longest time from production to the lake's file, over the measured days.", [("", t["freshness_max_s"])])
    return "\n".join(lines) + "\n"


# The lake's quality table (`millrace sql "SELECT * FROM quality"`): one row per day and per micro-batch.
QUALITY_SCHEMA = StructType(
    [
        StructField("scope", StringType(), False),
        StructField("period", StringType(), False),
        StructField("acknowledged", LongType(), True),
        StructField("events", LongType(), False),
        StructField("quarantined", LongType(), True),
        StructField("completeness", DoubleType(), True),
        StructField("duplicates", LongType(), False),
        StructField("late", LongType(), False),
        StructField("nulls", MapType(StringType(), LongType()), False),
        StructField("unknown_fields", MapType(StringType(), LongType()), True),
        StructField("freshness_p50_s", DoubleType(), True),
        StructField("freshness_max_s", DoubleType(), True),
        StructField("computed_at", DoubleType(), False),
    ]
)


def quality_frame(spark: SparkSession, rows: list[dict[str, Any]], computed_at: float) -> DataFrame:
    """Days and batches as the quality table's rows."""
    names = [f for f in QUALITY_SCHEMA.fieldNames() if f != "computed_at"]
    return spark.createDataFrame([tuple([*(r.get(k) for k in names), computed_at]) for r in rows], QUALITY_SCHEMA)
