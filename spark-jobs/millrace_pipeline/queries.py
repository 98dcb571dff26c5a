"""The streaming queries of ingest and score: transforms wired to sinks and checkpoints.

Every query writes through a built-in sink with its own checkpoint. The file sink records each
micro-batch in <path>/_spark_metadata and Spark readers of <path> see only committed batches, so a
restart neither loses nor duplicates rows. That is why there is no foreachBatch here.
The source is passed in as `read_source(query_name)` (Kafka in the jobs, files in the tests).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQuery

from .paths import LakePaths
from .scoring import kafka_messages, lake_predictions, prediction_records
from .spec import Spec
from .streaming import count_output
from .transforms import enrich_events, lake_events, parse_records, quarantine_records, valid_events

ReadSource = Callable[[str], DataFrame]
INGEST_QUERIES = ("events", "quarantine")
SCORE_QUERIES = ("kafka", "lake")


def query_prefix(spec: Spec, job: str) -> str:
    return f"millrace-{spec.name}-{job}-"


def _start(df: DataFrame, name: str, checkpoint: str, trigger: Mapping[str, Any], fmt: str, options: Mapping[str, str], partition_by: tuple[str, ...] = ()) -> StreamingQuery:
    writer = df.writeStream.format(fmt).outputMode("append").queryName(name).option("checkpointLocation", checkpoint).options(**options)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if trigger:
        writer = writer.trigger(**trigger)
    return writer.start()


def start_ingest(read_source: ReadSource, spec: Spec, paths: LakePaths, trigger: Mapping[str, Any]) -> list[StreamingQuery]:
    """events/ gets the valid, enriched records (partitioned by event_date); quarantine/ the others,
    with their reason. Two queries, each reading the topic, so each sink keeps its exactly-once log."""
    prefix = query_prefix(spec, "ingest")
    events = count_output(lake_events(parse_records(read_source("events"), spec), spec))
    quarantined = count_output(quarantine_records(parse_records(read_source("quarantine"), spec)))
    return [
        _start(events, prefix + "events", paths.checkpoint("ingest", "events"), trigger, "parquet", {"path": paths.events}, ("event_date",)),
        _start(quarantined, prefix + "quarantine", paths.checkpoint("ingest", "quarantine"), trigger, "parquet", {"path": paths.quarantine}),
    ]


def score_frame(source: DataFrame, model: PipelineModel, model_version: str, spec: Spec) -> DataFrame:
    """Parsing and validation as in ingest (invalid records are skipped: ingest quarantines them)."""
    events = enrich_events(valid_events(parse_records(source, spec), spec), spec)
    return prediction_records(model.transform(events), spec, model_version)


def start_score(
    read_source: ReadSource,
    model: PipelineModel,
    model_version: str,
    spec: Spec,
    paths: LakePaths,
    trigger: Mapping[str, Any],
    messages_sink: tuple[str, Mapping[str, str]],
) -> list[StreamingQuery]:
    """Predictions as messages (messages_sink = ("kafka", options) in the job) and to predictions/.
    The Kafka sink is at-least-once: a batch is written again only if the job dies between writing
    it and committing it; in a run without failures every event gets exactly one message."""
    prefix = query_prefix(spec, "score")
    messages = count_output(kafka_messages(score_frame(read_source("kafka"), model, model_version, spec), spec))
    lake = count_output(lake_predictions(score_frame(read_source("lake"), model, model_version, spec)))
    fmt, options = messages_sink
    return [
        _start(messages, prefix + "kafka", paths.checkpoint("score", "kafka"), trigger, fmt, options),
        _start(lake, prefix + "lake", paths.checkpoint("score", "lake"), trigger, "parquet", {"path": paths.predictions}),
    ]
