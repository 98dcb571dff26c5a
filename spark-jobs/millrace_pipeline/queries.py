"""The streaming queries of ingest and score: transforms wired to sinks and checkpoints.

Every query writes through a built-in sink with its own checkpoint. The file sink records each
micro-batch in <path>/_spark_metadata and Spark readers of <path> see only committed batches, so a
restart neither loses nor duplicates rows. That is why there is no foreachBatch here.
The source is passed in as `read_source(query_name)` (Kafka in the jobs, files in the tests).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from .paths import LakePaths
from .features import PREDICTION_COL, with_recent
from .scoring import kafka_messages, lake_predictions, prediction_records, to_challenger
from .spec import Spec
from .streaming import count_output
from .transforms import enrich_events, lake_events, parse_records, partition_column, quarantine_records, valid_events

ReadSource = Callable[[str], DataFrame]
# The first model's prediction while the challenger scores (score_frame).
FIRST_PREDICTION = "_prediction_first"
INGEST_QUERIES = ("events", "quarantine")
# The scoring query whose predictions go out as messages (the one that may run in real-time mode).
MESSAGES_QUERY = "kafka"
SCORE_QUERIES = (MESSAGES_QUERY, "lake")


def query_prefix(spec: Spec, job: str) -> str:
    return f"millrace-{spec.name}-{job}-"


def _start(df: DataFrame, name: str, checkpoint: str, trigger: Mapping[str, Any], fmt: str, options: Mapping[str, str], partition_by: tuple[str, ...] = ()) -> StreamingQuery:
    # Real-time mode runs in update mode only; for a query without aggregation it is the same output.
    mode = "update" if "realTime" in trigger else "append"
    writer = df.writeStream.format(fmt).outputMode(mode).queryName(name).option("checkpointLocation", checkpoint).options(**options)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if trigger:
        writer = writer.trigger(**trigger)
    return writer.start()


def start_ingest(read_source: ReadSource, spec: Spec, paths: LakePaths, trigger: Mapping[str, Any]) -> list[StreamingQuery]:
    """events/ gets the valid, enriched records (partitioned by event_date, or the spec's coarser
    lakePartition); quarantine/ the others,
    with their reason. Two queries, each reading the topic, so each sink keeps its exactly-once log."""
    prefix = query_prefix(spec, "ingest")
    events = count_output(lake_events(parse_records(read_source("events"), spec), spec))
    quarantined = count_output(quarantine_records(parse_records(read_source("quarantine"), spec)))
    return [
        _start(events, prefix + "events", paths.checkpoint("ingest", "events"), trigger, "parquet", {"path": paths.events}, (partition_column(spec),)),
        _start(quarantined, prefix + "quarantine", paths.checkpoint("ingest", "quarantine"), trigger, "parquet", {"path": paths.quarantine}),
    ]


@dataclass(frozen=True)
class Challenger:
    """A second model version that scores a share of the events side by side with the first (A/B),
    each event's prediction from one of them, chosen by a hash of its id (scoring.to_challenger)."""

    version: str
    model: PipelineModel
    share: float
    seed: int = 0


def score_frame(source: DataFrame, model: PipelineModel, model_version: str, spec: Spec, challenger: Challenger | None = None, recent: Mapping[str, DataFrame] | None = None) -> DataFrame:
    """Parsing and validation as in ingest (invalid records are skipped: ingest quarantines them).
    With a challenger, each event is scored by both models in one pass over the source (the query
    keeps its one source and its output columns, so it keeps its checkpoints and the lake's file
    sink its batch numbers), and keeps the challenger's prediction for its share of the events, the
    first model's for the rest; model_version says which. `recent` holds the spec's recent
    features (features.recent_snapshot), joined on before the models see the events."""
    events = enrich_events(valid_events(parse_records(source, spec), spec), spec)
    if spec.model is not None and spec.model.recent:
        if recent is None:
            raise ValueError(f"spec '{spec.name}' has recent features: score_frame needs their tables (features.recent_snapshot)")
        events = with_recent(events, recent, spec)
    if challenger is None:
        return prediction_records(model.transform(events), spec, F.lit(model_version))
    # The models' stages write the same column names: the first's prediction is kept aside, its other columns dropped.
    by_first = model.transform(events).select(*events.columns, F.col(PREDICTION_COL).alias(FIRST_PREDICTION))
    to_b = to_challenger(spec, challenger.share, challenger.seed)
    both = challenger.model.transform(by_first).withColumn(PREDICTION_COL, F.when(to_b, F.col(PREDICTION_COL)).otherwise(F.col(FIRST_PREDICTION)))
    return prediction_records(both, spec, F.when(to_b, F.lit(challenger.version)).otherwise(F.lit(model_version)))


def start_score(
    read_source: ReadSource,
    model: PipelineModel,
    model_version: str,
    spec: Spec,
    paths: LakePaths,
    trigger: Mapping[str, Any],
    messages_sink: tuple[str, Mapping[str, str]],
    challenger: Challenger | None = None,
    messages_trigger: Mapping[str, Any] | None = None,
    recent: Mapping[str, DataFrame] | None = None,
) -> list[StreamingQuery]:
    """Predictions as messages (messages_sink = ("kafka", options) in the job) and to predictions/.
    The Kafka sink is at-least-once: a batch is written again only if the job dies between writing
    it and committing it; in a run without failures every event gets exactly one message.
    With a challenger (A/B) the queries are the same queries, on the same checkpoints: switching to
    A/B and back goes on from where the last run stopped.
    messages_trigger, when given, is the messages query's own (real_time_trigger: Spark's real-time
    mode, each record through as it comes); the lake's copy stays on `trigger`'s micro-batches."""
    prefix = query_prefix(spec, "score")
    messages = count_output(kafka_messages(score_frame(read_source(MESSAGES_QUERY), model, model_version, spec, challenger, recent), spec))
    lake = count_output(lake_predictions(score_frame(read_source("lake"), model, model_version, spec, challenger, recent)))
    fmt, options = messages_sink
    return [
        _start(messages, prefix + MESSAGES_QUERY, paths.checkpoint("score", MESSAGES_QUERY), messages_trigger or trigger, fmt, options),
        _start(lake, prefix + "lake", paths.checkpoint("score", "lake"), trigger, "parquet", {"path": paths.predictions}),
    ]
