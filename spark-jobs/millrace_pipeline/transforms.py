"""Pure DataFrame transforms: Kafka records -> validated, typed events -> enriched events.

The value is parsed into a VARIANT (not with from_json) so that validation sees the real JSON types:
from_json would quietly read the number 123 into a string field, or a number into a timestamp.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .spec import LAKE_PARTITIONS, Field, Spec, value_schema

PRODUCED_AT_HEADER = "millrace-produced-at"

# Internal columns of parse_records' output.
RAW_KEY, RAW_VALUE, REASON = "_key", "_value", "_reason"
VALIDATION_METRIC = "millrace_validation"
KAFKA_COLUMNS = ("kafka_partition", "kafka_offset", "kafka_timestamp", "produced_at")
ENRICHED_COLUMNS = ("event_time", "event_date", "hour_of_day", "day_of_week", "ingested_at")

# A date and at least hours:minutes; try_cast then checks the calendar and reads the zone (none = UTC).
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
_SPARK_TYPE = {"string": "string", "int": "int", "long": "bigint", "double": "double", "boolean": "boolean"}
# JSON kinds each spec type accepts (see _json_kind).
_ACCEPTS = {
    "string": ("string",),
    "int": ("integer",),
    "long": ("integer",),
    "double": ("integer", "number"),
    "boolean": ("boolean",),
    "timestamp": ("string",),
}


def _json_kind(s: Column) -> Column:
    """JSON kind from schema_of_variant() `s`: string, integer, number, boolean, object, array, null;
    SQL NULL when the path is absent."""
    return (
        F.when(s.isNull(), F.lit(None))
        .when(s == "VOID", "null")
        .when(s == "STRING", "string")
        .when(s == "BOOLEAN", "boolean")
        # parse_json stores 7 as BIGINT and 7.0 as DECIMAL(1,0): both are integers to JSON Schema.
        .when((s == "BIGINT") | s.rlike(r"^DECIMAL\(\d+,0\)$"), "integer")
        .when(s.startswith("DECIMAL") | (s == "DOUBLE") | (s == "FLOAT"), "number")
        .when(s.startswith("OBJECT"), "object")
        .when(s.startswith("ARRAY"), "array")
        .otherwise(F.lower(s))
    )


def _header(name: str) -> Column:
    """The first value of a Kafka header as a string, NULL when absent."""
    matching = F.filter(F.col("headers"), lambda h: h["key"] == name)
    return F.get(matching, 0)["value"].cast("string")


def _typed_value(field: Field, sub: Column) -> Column:
    if field.type == "timestamp":
        text = F.try_variant_get(sub, "$", "string")
        return F.when(text.rlike(_ISO_TIMESTAMP), text.try_cast("timestamp"))
    return F.try_variant_get(sub, "$", _SPARK_TYPE[field.type])


def _field_reason(field: Field, kind: Column, typed: Column) -> Column:
    quoted = f"'{field.name}'"
    absent = kind.isNull() | (kind == "null")
    reason = F.when(absent, F.lit(f"missing required field {quoted}") if field.required else F.lit(None))
    reason = reason.when(~kind.isin(*_ACCEPTS[field.type]), F.concat(F.lit(f"field {quoted} must be {field.type}, got "), kind))
    if field.type == "timestamp":
        return reason.when(typed.isNull(), F.lit(f"field {quoted} is not an ISO-8601 timestamp"))
    if field.type in ("int", "long"):
        return reason.when(typed.isNull(), F.lit(f"field {quoted} is out of range for {field.type}"))
    return reason


def parse_records(kafka: DataFrame, spec: Spec) -> DataFrame:
    """Kafka rows (key, value, partition, offset, timestamp, headers) -> one row per record with the
    id and the spec's fields typed per value_schema(spec), `_reason` (NULL when valid; otherwise every
    problem, joined by '; '), the raw `_key`/`_value` strings and the Kafka metadata columns."""
    fields = list(spec.fields)
    if spec.field(spec.id) is None:
        # The producer assigns ids, as strings; an integer id from the source is accepted too.
        fields.insert(0, Field(spec.id, "string", True))
        id_accepts = {spec.id: ("string", "integer")}
    else:
        id_accepts = {}

    base = kafka.select(
        F.col("key").cast("string").alias(RAW_KEY),
        F.col("value").cast("string").alias(RAW_VALUE),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        # millrace produce stamps each record's own timestamp (CreateTime) with its production
        # time; the header is what it wrote before, and what another producer may still write.
        F.coalesce(F.timestamp_millis(_header(PRODUCED_AT_HEADER).try_cast("bigint")), F.col("timestamp")).alias("produced_at"),
    ).withColumn("_v", F.try_parse_json(F.col(RAW_VALUE)))

    # One projection per step, each value computed once and then referenced by name: the optimizer
    # does not merge projections that would evaluate a costly expression more than once.
    subs = {f"_s{i}": F.try_variant_get("_v", f"$.{f.name}", "variant") for i, f in enumerate(fields)}
    step = base.withColumns({"_t": F.schema_of_variant("_v"), **subs})
    step = step.withColumns({f"_t{i}": F.schema_of_variant(f"_s{i}") for i in range(len(fields))})
    kinds = {f"_k{i}": _json_kind(F.col(f"_t{i}")) for i in range(len(fields))}
    typed = {f.name: _typed_value(f, F.col(f"_s{i}")) for i, f in enumerate(fields)}
    with_kinds = step.withColumns({"_top": _json_kind(F.col("_t")), **kinds, **typed})

    field_reasons = []
    for i, f in enumerate(fields):
        kind, value = F.col(f"_k{i}"), F.col(f.name)
        if f.name in id_accepts:
            reason = (
                F.when(kind.isNull() | (kind == "null"), F.lit(f"missing required field '{f.name}'"))
                .when(~kind.isin(*id_accepts[f.name]), F.concat(F.lit(f"field '{f.name}' must be string or integer, got "), kind))
            )
        else:
            reason = _field_reason(f, kind, value)
        field_reasons.append(reason)
    with_reasons = with_kinds.withColumn("_fields", F.concat_ws("; ", *field_reasons))
    joined, top = F.col("_fields"), F.col("_top")
    reason = (
        F.when(F.col(RAW_VALUE).isNull(), F.lit("value is missing"))
        .when(F.col("_v").isNull(), F.lit("value is not valid JSON"))
        .when(top != "object", F.lit("value is not a JSON object"))
        .when(joined != "", joined)
    )
    schema_cols = [F.col(s.name).cast(s.dataType).alias(s.name) for s in value_schema(spec).fields]
    parsed = with_reasons.select(*schema_cols, reason.alias(REASON), RAW_KEY, RAW_VALUE, *KAFKA_COLUMNS)
    # The observation (records and invalid per micro-batch, in the progress lines) is also a barrier:
    # a filter on _reason is not pushed below it, so it cannot inline the whole validation (and the
    # JSON parse, hundreds of times) into its condition. One parse_records per query plan: observed
    # metric names must be unique in a plan.
    return parsed.observe(VALIDATION_METRIC, F.count(F.lit(1)).alias("records"), F.count(REASON).alias("invalid"))


def valid_events(parsed: DataFrame, spec: Spec) -> DataFrame:
    """The records that passed validation: typed fields, the raw Kafka key and the Kafka metadata."""
    names = [s.name for s in value_schema(spec).fields]
    return parsed.where(F.col(REASON).isNull()).select(*names, RAW_KEY, *KAFKA_COLUMNS)


def quarantine_records(parsed: DataFrame) -> DataFrame:
    """The records that failed validation, with the reason and the raw key and value."""
    return parsed.where(F.col(REASON).isNotNull()).select(
        F.col(REASON).alias("reason"),
        F.col(RAW_VALUE).alias("value"),
        F.col(RAW_KEY).alias("key"),
        *KAFKA_COLUMNS,
        F.current_timestamp().alias("quarantined_at"),
    )


def iso_day_of_week(ts: Column) -> Column:
    """ISO day of week: Monday = 1 ... Sunday = 7 (Spark's dayofweek starts at Sunday = 1)."""
    return ((F.dayofweek(ts) + 5) % 7 + 1).cast("int")


def enrich_events(events: DataFrame, spec: Spec) -> DataFrame:
    """Adds the event-time columns (UTC: jobs run with spark.sql.session.timeZone=UTC) and the
    ingest time. In a stream, current_timestamp() is the micro-batch's start time."""
    ts = F.col(spec.event_time)
    return events.withColumns(
        {
            "event_time": ts,
            "event_date": F.to_date(ts),
            "hour_of_day": F.hour(ts),
            "day_of_week": iso_day_of_week(ts),
            "ingested_at": F.current_timestamp(),
        }
    )


def partition_column(spec: Spec) -> str:
    """The column ingest partitions events/ by (spec.lakePartition): event_date (a day, the
    default), event_month ("2001-03") or event_year (2001). Data spanning years in small batches (a
    backfill of an export) makes a file per day it holds in every batch, and in the encryption zone
    each file costs the KMS a call: a month or a year makes a few."""
    return LAKE_PARTITIONS[spec.lake_partition]


def lake_events(parsed: DataFrame, spec: Spec) -> DataFrame:
    """What ingest writes to events/: valid, typed, enriched; column order fixed. A coarser
    partition than the day adds its column after the enriched ones."""
    names = [s.name for s in value_schema(spec).fields]
    enriched = enrich_events(valid_events(parsed, spec), spec)
    ts = F.col("event_time")
    coarser = {"event_month": F.date_format(ts, "yyyy-MM"), "event_year": F.year(ts)}
    part = partition_column(spec)
    extra = [coarser[part].alias(part)] if part in coarser else []
    return enriched.select(*names, *ENRICHED_COLUMNS, *extra, *KAFKA_COLUMNS)
