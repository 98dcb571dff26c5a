"""Running a job's streaming queries: triggers, progress lines on stdout, waiting, the summary."""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

from .kafka import kafka_source_options
from .prometheus import METRICS_DIR_CONF, Batch, TextfileExporter, exporter_for, iso_seconds
from .transforms import VALIDATION_METRIC

PROGRESS_PREFIX = "MILLRACE_PROGRESS "
OUTPUT_METRIC = "millrace_output"


def emit(prefix: str, payload: dict[str, Any]) -> None:
    """One machine-readable line on stdout (the CLI streams and parses these; logs go to stderr).
    One write with its newline: print() writes the newline apart, and where stdout and stderr share
    a file (a driver's log), a log line written between the two ran into the JSON and the line was
    lost to its readers."""
    sys.stdout.write(prefix + json.dumps(payload, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0] if text and text.strip() else None


def trigger_options(trigger_seconds: float, available_now: bool) -> dict[str, Any]:
    """Keyword arguments for DataStreamWriter.trigger(); empty means 'as fast as possible'."""
    if available_now:
        return {"availableNow": True}
    if trigger_seconds < 0:
        raise ValueError(f"trigger seconds must be 0 or more, not {trigger_seconds}")
    if trigger_seconds == 0:
        return {}
    return {"processingTime": f"{trigger_seconds:g} seconds"}


# StreamExecution's status once a batch is planned and runs.
PROCESSING_STATUS = "Processing new data"


def real_time_trigger(checkpoint_seconds: float) -> dict[str, Any]:
    """DataStreamWriter.trigger() arguments for Spark's real-time mode (4.1+): long-running tasks,
    one per topic partition, each record written as it is read. The duration is how often progress
    is checkpointed, not a latency; Spark's floor is 5 s. The tasks hold their cores for as long as
    the query runs, so the application needs one per partition, and more for its other queries."""
    if checkpoint_seconds < 5:
        raise ValueError(f"a real-time query checkpoints every 5 seconds or more, not every {checkpoint_seconds:g}")
    return {"realTime": f"{checkpoint_seconds:g} seconds"}


def count_output(df: DataFrame) -> DataFrame:
    """Counts the rows each micro-batch writes, reported in its progress as observed metrics; where
    the rows carry their production time (produced_at, else kafka_timestamp), also its earliest and
    mean, in Unix seconds, for the produce-to-lake latency."""
    aggregates = [F.count(F.lit(1)).alias("rows")]
    produced = [c for c in ("produced_at", "kafka_timestamp") if c in df.columns]
    if produced:
        seconds = F.coalesce(*[F.col(c) for c in produced]).cast("double")
        aggregates += [F.min(seconds).alias("produced_min"), F.avg(seconds).alias("produced_mean")]
    return df.observe(OUTPUT_METRIC, *aggregates)


@dataclass
class QueryTotals:
    batches: int = 0
    input_rows: int = 0
    output_rows: int = 0

    def summary(self) -> dict[str, Any]:
        return {"batches": self.batches, "input_rows": self.input_rows, "output_rows": self.output_rows}


class ProgressPrinter(StreamingQueryListener):
    """Prints a MILLRACE_PROGRESS line per micro-batch of the queries named '<prefix><short name>'
    and keeps totals. Events arrive on the listener bus, after the fact and in order."""

    def __init__(self, job: str, query_prefix: str, exporter: TextfileExporter | None = None):
        self.job, self.prefix, self.exporter = job, query_prefix, exporter
        self._lock = threading.Condition()
        self.totals: dict[str, QueryTotals] = {}
        self._names: dict[str, str] = {}  # query id -> short name
        self._terminated_ids: set[str] = set()  # run ids
        self._ready_runs: set[str] = set()

    def _short(self, name: str | None) -> str | None:
        return name[len(self.prefix):] if name and name.startswith(self.prefix) else None

    def onQueryStarted(self, event: Any) -> None:
        short = self._short(event.name)
        if short is None:
            return
        with self._lock:
            self.totals.setdefault(short, QueryTotals())
            self._names[str(event.id)] = short
        if self.exporter:
            self.exporter.started(short)
        emit(PROGRESS_PREFIX, {"job": self.job, "query": short, "event": "started", "id": str(event.id)})

    def _ready(self, run_id: str, short: str) -> None:
        """Once per run, on its first trigger (a batch or an idle one): by then the query has fixed its
        starting offsets, so a caller using --starting-offsets latest may start producing."""
        with self._lock:
            if run_id in self._ready_runs:
                return
            self._ready_runs.add(run_id)
        emit(PROGRESS_PREFIX, {"job": self.job, "query": short, "event": "ready"})

    def check_processing(self, query: StreamingQuery) -> None:
        """A real-time query reports progress only at the end of its long batch (its checkpoint
        interval), so its first trigger is seen here instead: once its status says it processes
        data, its batch is planned, with its starting offsets."""
        short = self._short(query.name)
        if short is None:
            return
        try:
            processing = query.status.get("message") == PROCESSING_STATUS
        except Exception:  # the query ended meanwhile: await_queries sees it
            return
        if processing:
            self._ready(str(query.runId), short)

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        short = self._short(p.name)
        if short is None:
            return
        self._ready(str(p.runId), short)
        observed = p.observedMetrics.get(OUTPUT_METRIC)
        output_rows = int(observed["rows"]) if observed is not None else None
        validation = p.observedMetrics.get(VALIDATION_METRIC)
        behind = [int(s.metrics["maxOffsetsBehindLatest"]) for s in p.sources if s.metrics and "maxOffsetsBehindLatest" in s.metrics]
        with self._lock:
            t = self.totals.setdefault(short, QueryTotals())
            t.batches += 1
            t.input_rows += p.numInputRows
            t.output_rows += output_rows or 0
        if self.exporter:
            produced = (observed.asDict().get("produced_min"), observed.asDict().get("produced_mean")) if observed is not None else (None, None)
            self.exporter.batch(
                short,
                Batch(
                    end=iso_seconds(p.timestamp) + p.batchDuration / 1000,
                    input_rows=p.numInputRows,
                    output_rows=output_rows,
                    invalid_rows=int(validation["invalid"]) if validation is not None else None,
                    input_rps=float(p.inputRowsPerSecond),
                    processed_rps=float(p.processedRowsPerSecond),
                    batch_seconds=p.batchDuration / 1000,
                    behind=max(behind) if behind else None,
                    produced_min=produced[0],
                    produced_mean=produced[1],
                ),
            )
        emit(
            PROGRESS_PREFIX,
            {
                "job": self.job,
                "query": short,
                "batch": p.batchId,
                "input_rows": p.numInputRows,
                "output_rows": output_rows,
                "invalid_rows": int(validation["invalid"]) if validation is not None else None,
                "input_rows_per_second": round(p.inputRowsPerSecond, 1),
                "processed_rows_per_second": round(p.processedRowsPerSecond, 1),
                "batch_ms": p.batchDuration,
                # Where the batch's time went: latestOffset, queryPlanning, addBatch, walCommit, commitOffsets...
                "phases_ms": dict(p.durationMs),
                "offsets_behind_latest": max(behind) if behind else None,
            },
        )

    def onQueryIdle(self, event: Any) -> None:
        with self._lock:
            short = self._names.get(str(event.id))
        if short is not None:
            self._ready(str(event.runId), short)
            if self.exporter:
                self.exporter.idle(short)

    def onQueryTerminated(self, event: Any) -> None:
        with self._lock:
            # Terminated events carry only the id; the started event told us the short name.
            short = self._names.get(str(event.id))
        if short is not None:
            if self.exporter:
                self.exporter.terminated(short, failed=bool(event.exception))
            emit(PROGRESS_PREFIX, {"job": self.job, "query": short, "event": "terminated", "error": _first_line(event.exception)})
        with self._lock:
            # Run ids: a restarted query keeps its id (it is in the checkpoint) but gets a new run id.
            self._terminated_ids.add(str(event.runId))
            self._lock.notify_all()

    def wait_for_termination_events(self, queries: Iterable[StreamingQuery], timeout: float = 30.0) -> bool:
        """The last progress events may still be on the listener bus when awaitTermination returns;
        the terminated event comes after them."""
        ids = {str(q.runId) for q in queries}
        deadline = time.monotonic() + timeout
        with self._lock:
            while not ids <= self._terminated_ids:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def summary(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: v.summary() for k, v in sorted(self.totals.items())}


def await_queries(queries: list[StreamingQuery], stop: threading.Event, poll_seconds: float = 1.0, on_poll: Callable[[StreamingQuery], None] | None = None) -> None:
    """Waits until every query has ended, or until `stop` is set (then stops them: the checkpoints
    stay consistent). If one query fails, the others are stopped and its error is raised.
    on_poll sees each running query once a round."""
    pending = list(queries)
    try:
        while pending:
            if on_poll:
                for q in pending:
                    on_poll(q)
            if stop.is_set():
                for q in pending:
                    q.stop()
                return
            for q in list(pending):
                if q.awaitTermination(poll_seconds):  # raises StreamingQueryException if it failed
                    pending.remove(q)
    except BaseException:
        for q in pending:
            if q.isActive:
                q.stop()
        raise


def start_listener(spark: SparkSession, job: str, query_prefix: str, exporter: TextfileExporter | None = None) -> ProgressPrinter:
    printer = ProgressPrinter(job, query_prefix, exporter)
    spark.streams.addListener(printer)
    return printer


def kafka_reader(
    spark: SparkSession, topic: str, job: str, starting_offsets: str, max_offsets_per_trigger: int | None, real_time: Collection[str] = ()
) -> Callable[[str], DataFrame]:
    """A reader of the topic for each of a job's queries, each in consumer groups of its own.
    `real_time` names the queries that run in Spark's real-time mode (kafka_source_options)."""

    def read(query: str) -> DataFrame:
        opts = kafka_source_options(spark.conf, topic, f"pipeline-{job}-{query}", starting_offsets, max_offsets_per_trigger, real_time=query in real_time)
        return spark.readStream.format("kafka").options(**opts).load()

    return read


def run_queries(
    spark: SparkSession, job: str, pipeline: str, query_prefix: str, start: Callable[[], list[StreamingQuery]], stop: threading.Event, real_time: bool = False
) -> tuple[dict[str, dict[str, Any]], float]:
    """Starts a job's queries under a progress listener and waits for them to end (or for `stop`).
    Their progress also goes to Prometheus where the node says where (prometheus.py).
    Returns each query's totals and the seconds they ran."""
    exporter = exporter_for(spark.conf.get(METRICS_DIR_CONF, None), pipeline, job)
    printer = start_listener(spark, job, query_prefix, exporter)
    started = time.monotonic()
    clean = False
    try:
        queries = start()
        await_queries(queries, stop, on_poll=printer.check_processing if real_time else None)
        printer.wait_for_termination_events(queries)
        clean = True
    finally:
        try:
            # Before the session goes: a listener called during shutdown fails noisily over py4j.
            spark.streams.removeListener(printer)
        finally:
            if exporter:
                # A stop asked for (SIGTERM: `millrace jobs kill` signals the driver's whole process
                # group, so the JVM may be gone before the queries are stopped here) is clean too.
                exporter.close(clean or stop.is_set())
    return printer.summary(), round(time.monotonic() - started, 1)
