"""A streaming job's progress as Prometheus metrics (issue 15).

The driver runs on the Spark master's node, where the node exporter's textfile collector reads
every `*.prom` file of one directory (spark.millrace.metrics.dir, set by `millrace up`). The job
keeps one file there, `streaming-<pipeline>-<job>.prom`, rewritten after each micro-batch and every
few seconds in between (the heartbeat), so that Prometheus can tell a query that is alive but idle
from a driver that died: a killed driver leaves the file behind with its last heartbeat, which then
grows old. A job that stops cleanly (its input done, or stopped by a signal) removes the file; one
that ends with an error leaves it with `millrace_streaming_up 0`.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

METRICS_DIR_CONF = "spark.millrace.metrics.dir"
HEARTBEAT_SECONDS = 5.0

# name -> (type, help). One HELP text per name: the collector refuses a name whose files disagree.
METRICS: dict[str, tuple[str, str]] = {
    "millrace_streaming_up": ("gauge", "1 while the streaming query runs; 0 once it has failed."),
    "millrace_streaming_heartbeat_timestamp_seconds": ("gauge", "When the driver last wrote this file (Unix time); it stops moving when the driver dies."),
    "millrace_streaming_last_progress_timestamp_seconds": ("gauge", "When the query last finished a micro-batch (Unix time)."),
    "millrace_streaming_last_output_timestamp_seconds": ("gauge", "When the query last wrote rows, or when it started if it has written none (Unix time)."),
    "millrace_streaming_input_rows_per_second": ("gauge", "Rows per second arriving at the source, in the last micro-batch (0 when idle)."),
    "millrace_streaming_processed_rows_per_second": ("gauge", "Rows per second the last micro-batch processed (0 when idle)."),
    "millrace_streaming_batch_duration_seconds": ("gauge", "How long the last micro-batch took."),
    "millrace_streaming_offsets_behind_latest": ("gauge", "Consumer lag: records the query's Kafka source is behind the latest offset, its worst partition (0 when idle)."),
    "millrace_streaming_latency_seconds": ("gauge", "From a record's production (its Kafka timestamp, which millrace produce sets to when it read the record; an older producer's millrace-produced-at header first) to the end of the micro-batch that wrote it, in the last micro-batch that wrote rows."),
    "millrace_streaming_input_rows_total": ("counter", "Rows the query has read since the driver started."),
    "millrace_streaming_output_rows_total": ("counter", "Rows the query has written since the driver started."),
    "millrace_streaming_invalid_rows_total": ("counter", "Records that failed validation since the driver started (ingest quarantines them)."),
    "millrace_streaming_batches_total": ("counter", "Micro-batches since the driver started."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def iso_seconds(timestamp: str) -> float:
    """A progress event's ISO-8601 timestamp ("2026-12-05T12:00:00.123Z") as Unix seconds."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def write_textfile(path: str, text: str) -> None:
    """Atomically: the collector never reads half a file (it ignores names not ending in .prom)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".millrace-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # the node exporter runs as another user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass
class QueryMetrics:
    started: float
    up: int = 1
    last_progress: float | None = None
    last_output: float | None = None
    input_rps: float = 0.0
    processed_rps: float = 0.0
    batch_seconds: float | None = None
    behind: int | None = None
    latency_mean: float | None = None
    latency_max: float | None = None
    input_total: int = 0
    output_total: int = 0
    invalid_total: int = 0
    batches: int = 0


@dataclass(frozen=True)
class Batch:
    """What a micro-batch's progress event says, in the units of the metrics."""

    end: float
    input_rows: int
    output_rows: int | None
    invalid_rows: int | None
    input_rps: float
    processed_rps: float
    batch_seconds: float
    behind: int | None
    produced_min: float | None = None
    produced_mean: float | None = None


class TextfileExporter:
    """The job's queries as one textfile; thread-safe (the listener bus and the heartbeat write it)."""

    def __init__(self, directory: str, pipeline: str, job: str, clock: Callable[[], float] = time.time, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.directory, self.pipeline, self.job = directory, pipeline, job
        self.path = os.path.join(directory, f"streaming-{pipeline}-{job}.prom")
        self._clock, self._heartbeat_seconds = clock, heartbeat_seconds
        self._lock = threading.Lock()
        self._queries: dict[str, QueryMetrics] = {}
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def started(self, query: str) -> None:
        with self._lock:
            self._queries[query] = QueryMetrics(started=self._clock())
        self._refresh()

    def _query(self, query: str) -> QueryMetrics:
        return self._queries.setdefault(query, QueryMetrics(started=self._clock()))

    def batch(self, query: str, b: Batch) -> None:
        with self._lock:
            m = self._query(query)
            m.up, m.batches, m.last_progress = 1, m.batches + 1, b.end
            m.input_total += b.input_rows
            m.output_total += b.output_rows or 0
            m.invalid_total += b.invalid_rows or 0
            m.input_rps, m.processed_rps, m.batch_seconds, m.behind = b.input_rps, b.processed_rps, b.batch_seconds, b.behind
            if b.output_rows:
                m.last_output = b.end
                if b.produced_min is not None and b.produced_mean is not None:
                    m.latency_max, m.latency_mean = max(0.0, b.end - b.produced_min), max(0.0, b.end - b.produced_mean)
        self._refresh()

    def idle(self, query: str) -> None:
        """Waiting for data: caught up, so nothing arrives and nothing is behind."""
        with self._lock:
            m = self._query(query)
            m.input_rps = m.processed_rps = 0.0
            if m.behind is not None:
                m.behind = 0
        self._refresh()

    def terminated(self, query: str, failed: bool) -> None:
        if failed:
            with self._lock:
                self._query(query).up = 0
        self._refresh()

    def render(self) -> str:
        now = self._clock()
        with self._lock:
            samples: dict[str, list[str]] = {name: [] for name in METRICS}
            for query, m in sorted(self._queries.items()):
                labels = f'pipeline="{_escape(self.pipeline)}",spark_job="{_escape(self.job)}",query="{_escape(query)}"'

                def add(name: str, value: float | int | None, extra: str = "") -> None:
                    if value is not None:
                        samples[name].append(f"{name}{{{labels}{extra}}} {float(value)!r}" if isinstance(value, float) else f"{name}{{{labels}{extra}}} {value}")

                add("millrace_streaming_up", m.up)
                add("millrace_streaming_heartbeat_timestamp_seconds", round(now, 3))
                add("millrace_streaming_last_progress_timestamp_seconds", m.last_progress)
                add("millrace_streaming_last_output_timestamp_seconds", m.last_output if m.last_output is not None else m.started)
                add("millrace_streaming_input_rows_per_second", m.input_rps)
                add("millrace_streaming_processed_rows_per_second", m.processed_rps)
                add("millrace_streaming_batch_duration_seconds", m.batch_seconds)
                add("millrace_streaming_offsets_behind_latest", m.behind)
                add("millrace_streaming_latency_seconds", m.latency_mean, ',stat="mean"')
                add("millrace_streaming_latency_seconds", m.latency_max, ',stat="max"')
                add("millrace_streaming_input_rows_total", m.input_total)
                add("millrace_streaming_output_rows_total", m.output_total)
                add("millrace_streaming_invalid_rows_total", m.invalid_total)
                add("millrace_streaming_batches_total", m.batches)
        lines: list[str] = []
        for name, (kind, text) in METRICS.items():
            if samples[name]:
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples[name]]
        return "\n".join(lines) + "\n" if lines else ""

    def write(self) -> None:
        write_textfile(self.path, self.render())

    def _refresh(self) -> None:
        """A write from a listener callback or the heartbeat: a failure (a full disk) costs the metrics, never the job."""
        try:
            self.write()
        except OSError as e:
            if not self._warned:
                self._warned = True
                print(f"millrace metrics: cannot write {self.path}: {e}", file=sys.stderr, flush=True)

    def start(self) -> "TextfileExporter":
        """Writes the file now and starts the heartbeat."""
        self.write()

        def beat() -> None:
            while not self._closed.wait(self._heartbeat_seconds):
                self._refresh()

        self._thread = threading.Thread(target=beat, name="millrace-metrics-heartbeat", daemon=True)
        self._thread.start()
        return self

    def close(self, clean: bool) -> None:
        """Stops the heartbeat. A clean stop removes the file (nothing to alert on); otherwise the
        file stays with the queries' last state, and its heartbeat ages."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=self._heartbeat_seconds + 5)
        if clean:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        # The driver ends with an error: none of its queries runs on, whatever events reached us.
        with self._lock:
            for m in self._queries.values():
                m.up = 0
        self._refresh()


def exporter_for(directory: str | None, pipeline: str, job: str) -> TextfileExporter | None:
    """The job's exporter, started; None (and a line on stderr) where the directory is not set or not writable."""
    if not directory:
        return None
    try:
        return TextfileExporter(directory, pipeline, job).start()
    except OSError as e:
        print(f"millrace metrics: no streaming metrics for Prometheus: cannot write to {directory} ({e})", file=sys.stderr, flush=True)
        return None
