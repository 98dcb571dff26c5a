"""The streaming queries of ingest and score, end to end on local files: a Parquet directory with the
Kafka source's columns stands in for the topic; sinks and checkpoints are the real ones."""
import dataclasses
import threading

import pytest

from millrace_pipeline.features import build_pipeline, recent_snapshot, training_frame
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.prometheus import TextfileExporter
from millrace_pipeline.queries import query_prefix, start_ingest, start_score
from millrace_pipeline.streaming import await_queries, real_time_trigger, start_listener, trigger_options

from conftest import KAFKA_SCHEMA, PRODUCED_AT_MS, flight, kafka_row, synthetic_flights

AVAILABLE_NOW = trigger_options(0, available_now=True)


@pytest.fixture
def topic(spark, tmp_path):
    """Appends 'messages' as new Parquet files; read_source streams them like a Kafka topic would."""
    directory = tmp_path / "topic"
    directory.mkdir()
    state = {"offset": 0}

    def append(values):
        rows = [kafka_row(v, offset=state["offset"] + i, partition=i % 2) for i, v in enumerate(values)]
        state["offset"] += len(values)
        spark.createDataFrame(rows, KAFKA_SCHEMA).coalesce(1).write.mode("append").parquet(str(directory))

    def read_source(_query):
        return spark.readStream.schema(KAFKA_SCHEMA).option("maxFilesPerTrigger", 1).parquet(str(directory))

    return append, read_source


def run_to_end(spark, queries, printer):
    await_queries(queries, threading.Event(), poll_seconds=0.2)
    assert printer.wait_for_termination_events(queries, timeout=30)
    return printer.summary()


def test_ingest_partitions_by_year_when_the_spec_says_so(spark, flights, topic, tmp_path):
    """lakePartition: year: an export spanning years makes one directory a year, not one a day."""
    append, read_source = topic
    spec = dataclasses.replace(flights, lake_partition="year")
    paths = LakePaths(f"file://{tmp_path}/lake", "flights")
    append([flight(event_id=f"y{i}", date=f"{1990 + i % 3}-0{1 + i % 9}-1{i % 10}T05:00:00.000Z") for i in range(30)])
    printer = start_listener(spark, "ingest", query_prefix(spec, "ingest"))
    try:
        run_to_end(spark, start_ingest(read_source, spec, paths, AVAILABLE_NOW), printer)
    finally:
        spark.streams.removeListener(printer)
    assert sorted(p.name for p in (tmp_path / "lake/flights/events").iterdir() if p.name.startswith("event")) == ["event_year=1990", "event_year=1991", "event_year=1992"]
    events = spark.read.parquet(paths.events)
    assert events.count() == 30
    assert events.where("year(event_date) != event_year").count() == 0


def test_ingest_progress_reaches_the_metrics_file(spark, flights, topic, tmp_path):
    """The listener feeds the exporter from Spark's own progress: rows, invalid records, and the
    produce-to-lake latency from the records' produced_at (observed in the batch that wrote them)."""
    append, read_source = topic
    paths = LakePaths(f"file://{tmp_path}/lake", "flights")
    append([flight(event_id=f"m{i}") for i in range(5)] + ["oops"])
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    exporter = TextfileExporter(str(metrics), "flights", "ingest")
    printer = start_listener(spark, "ingest", query_prefix(flights, "ingest"), exporter)
    try:
        run_to_end(spark, start_ingest(read_source, flights, paths, AVAILABLE_NOW), printer)
    finally:
        spark.streams.removeListener(printer)
    text = (metrics / "streaming-flights-ingest.prom").read_text()
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if not line.startswith("#")}
    events, quarantine = 'pipeline="flights",spark_job="ingest",query="events"', 'pipeline="flights",spark_job="ingest",query="quarantine"'
    assert values[f"millrace_streaming_output_rows_total{{{events}}}"] == 5
    assert values[f"millrace_streaming_output_rows_total{{{quarantine}}}"] == 1
    assert values[f"millrace_streaming_invalid_rows_total{{{events}}}"] == 1
    assert values[f"millrace_streaming_batches_total{{{events}}}"] == 1
    # Every record was produced at PRODUCED_AT_MS: the latency is the batch's end minus that.
    end = values[f"millrace_streaming_last_output_timestamp_seconds{{{events}}}"]
    assert values[f'millrace_streaming_latency_seconds{{{events},stat="max"}}'] == pytest.approx(end - PRODUCED_AT_MS / 1000, abs=0.01)
    assert values[f'millrace_streaming_latency_seconds{{{events},stat="mean"}}'] == pytest.approx(end - PRODUCED_AT_MS / 1000, abs=0.01)
    exporter.close(clean=True)
    assert list(metrics.iterdir()) == []


def test_ingest_writes_events_and_quarantine_exactly_once_across_restarts(spark, flights, topic, tmp_path, capsys):
    append, read_source = topic
    paths = LakePaths(f"file://{tmp_path}/lake", "flights")
    append([flight(event_id=f"e{i}", date=f"2001-01-{14 + i % 2}T0{i}:00:00.000Z") for i in range(6)] + ["oops"])

    printer = start_listener(spark, "ingest", query_prefix(flights, "ingest"))
    try:
        first = run_to_end(spark, start_ingest(read_source, flights, paths, AVAILABLE_NOW), printer)
        # A restart with new records: the checkpoints make it read only those.
        append([flight(event_id="e6"), flight(event_id="e7", delay="late")])
        second = run_to_end(spark, start_ingest(read_source, flights, paths, AVAILABLE_NOW), printer)
    finally:
        spark.streams.removeListener(printer)

    assert first == {"events": {"batches": 1, "input_rows": 7, "output_rows": 6}, "quarantine": {"batches": 1, "input_rows": 7, "output_rows": 1}}
    assert second == {"events": {"batches": 2, "input_rows": 9, "output_rows": 7}, "quarantine": {"batches": 2, "input_rows": 9, "output_rows": 2}}
    events = spark.read.parquet(paths.events)
    assert sorted(r["event_id"] for r in events.collect()) == [f"e{i}" for i in range(8) if i != 7]
    assert sorted(str(r["event_date"]) for r in events.select("event_date").distinct().collect()) == ["2001-01-14", "2001-01-15"]
    assert (tmp_path / "lake/flights/events/event_date=2001-01-15").is_dir()
    quarantine = sorted(spark.read.parquet(paths.quarantine).collect(), key=lambda r: r["kafka_offset"])
    assert [(r["reason"], r["kafka_offset"]) for r in quarantine] == [
        ("value is not valid JSON", 6), ("field 'delay' must be int, got string", 8)
    ]
    assert (tmp_path / "lake/_checkpoints/flights-ingest/events/commits").is_dir()
    assert (tmp_path / "lake/_checkpoints/flights-ingest/quarantine/commits").is_dir()
    out = capsys.readouterr().out
    assert 'MILLRACE_PROGRESS {"event": "ready", "job": "ingest", "query": "events"}' in out
    assert 'MILLRACE_PROGRESS {"batch": 0, "batch_ms": ' in out
    assert '"input_rows": 7, "input_rows_per_second": ' in out and '"invalid_rows": 1' in out
    assert '"event": "terminated", "job": "ingest", "query": "events"' in out


def test_score_writes_one_prediction_per_valid_event_to_both_sinks(spark, flights, topic, tmp_path):
    append, read_source = topic
    paths = LakePaths(f"file://{tmp_path}/lake", "flights")
    events = synthetic_flights(spark, 200, seed=5)
    model = build_pipeline(flights, "linear").fit(training_frame(events, flights))
    # The example spec's recent features: a broadcast stream-static join in both queries.
    recent = recent_snapshot(events, flights)
    append([flight(event_id=f"p{i}") for i in range(5)] + ["bad"])
    messages_dir = str(tmp_path / "messages")

    printer = start_listener(spark, "score", query_prefix(flights, "score"))
    try:
        queries = start_score(read_source, model, "v20261124T231500Z", flights, paths, AVAILABLE_NOW, ("parquet", {"path": messages_dir}), recent=recent)
        totals = run_to_end(spark, queries, printer)
    finally:
        spark.streams.removeListener(printer)

    assert totals["kafka"]["output_rows"] == 5 and totals["lake"]["output_rows"] == 5
    messages = spark.read.parquet(messages_dir)
    assert messages.columns == ["key", "value", "headers"]
    assert messages.count() == 5
    lake = spark.read.parquet(paths.predictions)
    assert sorted(r["event_id"] for r in lake.collect()) == [f"p{i}" for i in range(5)]
    assert (tmp_path / "lake/_checkpoints/flights-score/kafka/commits").is_dir()


def test_real_time_trigger_is_a_checkpoint_interval_of_at_least_five_seconds():
    assert real_time_trigger(10) == {"realTime": "10 seconds"}
    assert real_time_trigger(5) == {"realTime": "5 seconds"}
    with pytest.raises(ValueError, match="5 seconds or more"):
        real_time_trigger(1)


def test_score_refuses_real_time_with_available_now_and_a_short_interval(tmp_path):
    import score
    from millrace_pipeline.cli import UsageError

    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    with pytest.raises(UsageError, match="choose one"):
        score.main(["--spec", str(spec), "--available-now", "--real-time", "10"])
    with pytest.raises(UsageError, match="5 seconds or more"):
        score.main(["--spec", str(spec), "--real-time", "1"])
