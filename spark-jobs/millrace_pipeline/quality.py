"""Data quality of a pipeline's lake (issue 15), per day and per micro-batch.

- completeness: the rows that reached the lake (events and quarantine) against the records Kafka
  acknowledged, i.e. the records in the topic;
- duplicates: rows whose event id is already in the same day (or micro-batch);
- nulls per optional field;
- late events: produced more than `late_after` seconds after their event time;
- unknown fields: keys of the topic's JSON values that the spec does not name (ingest drops them);
- freshness: from a record's production to the Parquet file that holds it.

A day is the UTC day Kafka stamped the record (when it was acknowledged); a micro-batch is a
batch of ingest's events query, told apart by its `ingested_at` (the batch's start time, which is
the batch timestamp its checkpoint records). A batch's completeness comes from its checkpoint: the
offsets it read, per partition, are the records Kafka held for it; the lake's rows (events and
quarantine) at those offsets are the ones that arrived. Offsets count records only where every
producer is non-transactional (millrace's are): a transaction's commit marker takes an offset too.
Pure work here; the job (quality.py) reads the lake, the checkpoint and the topic and writes the
results.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Mapping

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, MapType, StringType, StructField, StructType

from .kafka import GROUP_PREFIX, kafka_security_options
from .spec import Spec

DAY = "day"


def _produced() -> Column:
    """A record's production time: produced_at (parse_records'), else Kafka's timestamp."""
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


@dataclass(frozen=True)
class BatchRange:
    """One committed micro-batch of a Kafka source: its id, its timestamp (the rows' ingested_at)
    and the offsets it read, partition -> [start, end)."""

    batch: int
    timestamp_ms: int
    offsets: Mapping[int, tuple[int, int]]

    @property
    def records(self) -> int:
        return sum(end - start for start, end in self.offsets.values())


def _log_entry(text: str) -> list[str]:
    """A checkpoint log file's lines after its version line ("v1"); a source's initial-offsets file
    starts with a zero byte."""
    lines = [line for line in text.lstrip("\x00").splitlines() if line.strip()]
    if not lines or not lines[0].startswith("v"):
        raise ValueError(f"not a checkpoint log entry: {text[:40]!r}")
    return lines[1:]


def _topic_offsets(source_json: str, topic: str) -> dict[int, int]:
    return {int(p): int(o) for p, o in json.loads(source_json).get(topic, {}).items()}


def batch_ranges(offset_log: Mapping[int, str], committed: set[int], initial: str | None, topic: str, last: int = 50) -> list[BatchRange]:
    """The last `last` committed batches of a query whose one source is the Kafka topic, newest
    first, from its checkpoint: `offset_log` is offsets/<batch> by batch (the metadata line, then
    the source's end offsets), `initial` the source's sources/0/0 (where batch 0 began). A
    partition a batch's predecessor did not have starts at 0; a batch whose start is not known
    (its predecessor's entry purged, or batch 0 without `initial`) is left out."""
    ends: dict[int, tuple[int, dict[int, int]]] = {}
    for batch, text in offset_log.items():
        meta, *sources = _log_entry(text)
        ends[batch] = (int(json.loads(meta).get("batchTimestampMs", 0)), _topic_offsets(sources[0], topic) if sources else {})
    start0 = _topic_offsets(_log_entry(initial)[0], topic) if initial else {}
    out = []
    for batch in sorted((b for b in ends if b in committed), reverse=True):
        if len(out) == last:
            break
        if batch - 1 in ends:
            start = ends[batch - 1][1]
        elif batch == 0 and initial:
            start = start0
        else:
            continue
        ts, end = ends[batch]
        out.append(BatchRange(batch, ts, {p: (start.get(p, 0), e) for p, e in sorted(end.items())}))
    return out


def _arrived_by_batch(spark: SparkSession, ranges: list[BatchRange], rows: DataFrame) -> dict[int, int]:
    """How many of `rows` (kafka_partition, kafka_offset) fall in each batch's offsets."""
    bounds = [(r.batch, p, s, e) for r in ranges for p, (s, e) in r.offsets.items() if e > s]
    if not bounds:
        return {}
    b = spark.createDataFrame(bounds, "batch long, p int, start long, end long")
    on = (F.col("kafka_partition") == F.col("p")) & (F.col("kafka_offset") >= F.col("start")) & (F.col("kafka_offset") < F.col("end"))
    joined = rows.select("kafka_partition", "kafka_offset").join(F.broadcast(b), on)
    return {int(r["batch"]): int(r["n"]) for r in joined.groupBy("batch").agg(F.count(F.lit(1)).alias("n")).collect()}


def per_batch(spec: Spec, events: DataFrame | None, late_after_s: float, last: int = 50, ranges: list[BatchRange] | None = None, quarantine: DataFrame | None = None) -> list[dict[str, Any]]:
    """The last `last` micro-batches of ingest's events query, newest first. With its checkpoint's
    `ranges`, each batch also has completeness: the lake's rows (events, and quarantine: the other
    query quarantines that batch's invalid records) at the offsets it read, over the records at
    those offsets. Without them (no checkpoint) only the batches that wrote events, and no
    completeness."""
    found: dict[int, dict[str, Any]] = {}
    if events is not None:
        rows = events.groupBy(F.unix_millis(F.col("ingested_at")).alias("ts")).agg(*_event_measures(spec, late_after_s)).orderBy(F.col("ts").desc()).limit(last).collect()
        found = {int(r["ts"]): _row_out(r.asDict(), spec) for r in rows}
    if ranges is None:
        return [{"scope": "batch", "period": _batch_period(ts), **found[ts]} for ts in sorted(found, reverse=True)]
    empty = {"events": 0, "duplicates": 0, "late": 0, "nulls": {f: 0 for f in optional_fields(spec)}, "freshness_p50_s": None, "freshness_max_s": None}
    spark = SparkSession.getActiveSession()
    assert spark is not None, "per_batch with ranges needs the job's SparkSession"
    landed = _arrived_by_batch(spark, ranges, events) if events is not None else {}
    quarantined = _arrived_by_batch(spark, ranges, quarantine) if quarantine is not None else {}
    out = []
    for r in ranges:
        measures = found.get(r.timestamp_ms, empty)
        row = {"scope": "batch", "period": _batch_period(r.timestamp_ms), "batch": r.batch, **measures, "acknowledged": r.records, "quarantined": quarantined.get(r.batch, 0)}
        # Rows of this batch's range (events written by this batch, quarantine by the other query) over its records.
        row["completeness"] = round((landed.get(r.batch, 0) + row["quarantined"]) / r.records, 6) if r.records else None
        out.append(row)
    return out


def _batch_period(ts_ms: int) -> str:
    """A batch timestamp (Unix ms) as its rows' ingested_at reads: ISO 8601 in UTC, no zone."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.timezone.utc).replace(tzinfo=None).isoformat()


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
