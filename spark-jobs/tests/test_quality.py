"""Data quality (millrace_pipeline/quality.py) over a lake that ingest really wrote, from a topic with
known duplicates, nulls, late events, unknown fields and an invalid record: each number must be the
one injected."""
import dataclasses
import json
import threading

import pytest

from millrace_pipeline.paths import LakePaths
from millrace_pipeline.quality import BatchRange, batch_ranges, daily, per_batch, quality_frame, quality_metrics, totals, with_landed_at
from millrace_pipeline.queries import query_prefix, start_ingest
from millrace_pipeline.spec import Field
from millrace_pipeline.streaming import await_queries, start_listener, trigger_options

from conftest import KAFKA_SCHEMA, flight, kafka_row

ON_TIME = "2025-11-24T23:00:00.000Z"  # 15 minutes before the records' production (23:15:00.123)
LATE = "2025-11-24T20:00:00.000Z"  # 3 h 15 min before it


@pytest.fixture(scope="module")
def lake(spark, flights, tmp_path_factory):
    """A spec with an optional field (tail), a topic of 13 records, and the lake ingest made of it."""
    spec = dataclasses.replace(flights, fields=(*flights.fields, Field("tail", "string", False)))
    records = (
        [flight(event_id=f"u{i}", date=ON_TIME, tail=f"N{i}") for i in range(4)]  # 4 clean
        + [flight(event_id="dup", date=ON_TIME, tail="N9")] * 3  # 2 duplicates
        + [flight(event_id=f"n{i}", date=ON_TIME) for i in range(2)]  # 2 nulls (no tail)
        + [flight(event_id=f"l{i}", date=LATE, tail="N8") for i in range(2)]  # 2 late
        + [{**flight(event_id="x0", date=ON_TIME, tail="N7"), "gate": "B4"}]  # 1 unknown field
        + ["not json"]  # 1 quarantined
    )
    tmp_path = tmp_path_factory.mktemp("quality")
    topic = tmp_path / "topic"
    # As Kafka numbers them: each partition's offsets from 0 up (partition 0: 7 records, 1: 6).
    rows = [kafka_row(v, offset=i // 2, partition=i % 2) for i, v in enumerate(records)]
    spark.createDataFrame(rows, KAFKA_SCHEMA).coalesce(1).write.parquet(str(topic))
    paths = LakePaths(f"file://{tmp_path}/lake", spec.name)
    read = lambda _q: spark.readStream.schema(KAFKA_SCHEMA).parquet(str(topic))  # noqa: E731
    printer = start_listener(spark, "ingest", query_prefix(spec, "ingest"))
    try:
        queries = start_ingest(read, spec, paths, trigger_options(0, available_now=True))
        await_queries(queries, threading.Event(), poll_seconds=0.2)
        assert printer.wait_for_termination_events(queries, timeout=30)
    finally:
        spark.streams.removeListener(printer)
    events = with_landed_at(spark.read.parquet(paths.events))
    quarantine = spark.read.parquet(paths.quarantine)
    return spec, events, quarantine, spark.read.parquet(str(topic))


def test_each_measure_of_the_day_is_what_was_injected(lake):
    spec, events, quarantine, topic = lake
    days = daily(spec, events, quarantine, topic, late_after_s=3600)
    assert [d["period"] for d in days] == ["2025-11-24"]
    d = days[0]
    assert {k: d[k] for k in ("acknowledged", "events", "quarantined", "completeness", "duplicates", "late", "nulls", "unknown_fields")} == {
        "acknowledged": 13,
        "events": 12,
        "quarantined": 1,
        "completeness": 1.0,
        "duplicates": 2,
        "late": 2,
        "nulls": {"tail": 2},
        "unknown_fields": {"gate": 1},
    }
    # From production (2025) to the files written now: positive, and the same order for every row.
    assert 0 < d["freshness_p50_s"] <= d["freshness_max_s"]


def test_a_missing_row_lowers_completeness_and_batches_are_measured_too(lake, spark):
    spec, events, quarantine, topic = lake
    # One event lost on the way (taken from what the lake holds): 12 of 13 arrived.
    fewer = events.where("event_id != 'u0'")
    t = totals(daily(spec, fewer, quarantine, topic, late_after_s=3600))
    assert (t["acknowledged"], t["events"], t["completeness"]) == (13, 11, round(12 / 13, 6))
    batches = per_batch(spec, events, late_after_s=3600)
    assert len(batches) == 1 and batches[0]["scope"] == "batch"
    assert {k: batches[0][k] for k in ("events", "duplicates", "late", "nulls")} == {"events": 12, "duplicates": 2, "late": 2, "nulls": {"tail": 2}}


def test_the_metrics_text_carries_the_totals(lake):
    spec, events, quarantine, topic = lake
    text = quality_metrics(spec.name, totals(daily(spec, events, quarantine, topic, late_after_s=3600)), computed_at=1000.0)
    assert 'millrace_quality_completeness_ratio{pipeline="flights"} 1.0' in text
    assert 'millrace_quality_rows{pipeline="flights",kind="duplicates"} 2.0' in text
    assert 'millrace_quality_null_values{pipeline="flights",field="tail"} 2.0' in text
    assert 'millrace_quality_unknown_field_records{pipeline="flights",field="gate"} 1.0' in text
    assert text.count("# TYPE millrace_quality_rows gauge") == 1


def test_without_the_topic_there_is_no_completeness(lake):
    spec, events, quarantine, _ = lake
    d = daily(spec, events, quarantine, None, late_after_s=3600)[0]
    assert (d["acknowledged"], d["completeness"], d["events"]) == (None, None, 12)


def test_days_and_batches_make_the_quality_table(lake, spark):
    spec, events, quarantine, topic = lake
    days = daily(spec, events, quarantine, topic, late_after_s=3600)
    batches = per_batch(spec, events, late_after_s=3600)
    table = quality_frame(spark, [*days, *batches], computed_at=1000.0)
    rows = {r["scope"]: r for r in table.collect()}
    assert (rows["day"]["acknowledged"], rows["day"]["duplicates"], rows["day"]["nulls"], rows["day"]["unknown_fields"]) == (13, 2, {"tail": 2}, {"gate": 1})
    assert (rows["batch"]["acknowledged"], rows["batch"]["completeness"], rows["batch"]["events"]) == (None, None, 12)


def _entry(ts_ms: int, offsets: dict) -> str:
    """An offsets/<batch> file as Spark writes it for a query with one Kafka source."""
    return "v1\n" + json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": ts_ms, "conf": {}}) + "\n" + json.dumps({"flights": offsets}) + "\n"


def test_the_checkpoint_gives_each_committed_batch_its_offsets():
    log = {0: _entry(1000, {"0": 7, "1": 6}), 1: _entry(2000, {"0": 9, "1": 6, "2": 4}), 2: _entry(3000, {"0": 12, "1": 6, "2": 4})}
    initial = "\x00v1\n" + json.dumps({"flights": {"0": 0, "1": 0}})
    # Batch 2 is planned but not committed: it is not measured yet.
    assert batch_ranges(log, {0, 1}, initial, "flights") == [
        BatchRange(1, 2000, {0: (7, 9), 1: (6, 6), 2: (0, 4)}),  # a partition added since batch 0 starts at 0
        BatchRange(0, 1000, {0: (0, 7), 1: (0, 6)}),
    ]
    assert batch_ranges(log, {0, 1, 2}, initial, "flights", last=1) == [BatchRange(2, 3000, {0: (9, 12), 1: (6, 6), 2: (4, 4)})]
    assert [r.records for r in batch_ranges(log, {0, 1, 2}, initial, "flights")] == [3, 6, 13]
    # Batch 0's start unknown (no sources/0/0), and batch 5's predecessor purged: both left out.
    assert [r.batch for r in batch_ranges({**log, 5: _entry(6000, {"0": 20})}, {0, 1, 2, 5}, None, "flights")] == [2, 1]
    with pytest.raises(ValueError, match="not a checkpoint log entry"):
        batch_ranges({0: "{}"}, {0}, None, "flights")


def test_a_batch_is_complete_when_every_offset_it_read_is_in_the_lake(lake):
    spec, events, quarantine, _ = lake
    ts = events.selectExpr("unix_millis(ingested_at) AS ts").first()["ts"]
    ranges = [BatchRange(1, ts + 5000, {0: (7, 9)}), BatchRange(0, ts, {0: (0, 7), 1: (0, 6)})]
    newer, b = per_batch(spec, events, 3600, ranges=ranges, quarantine=quarantine)
    assert {k: b[k] for k in ("batch", "acknowledged", "events", "quarantined", "completeness", "duplicates", "late", "nulls")} == {
        "batch": 0,
        "acknowledged": 13,
        "events": 12,
        "quarantined": 1,
        "completeness": 1.0,
        "duplicates": 2,
        "late": 2,
        "nulls": {"tail": 2},
    }
    assert b["period"] == per_batch(spec, events, 3600)[0]["period"]
    # Two records Kafka holds that never reached the lake.
    assert {k: newer[k] for k in ("batch", "acknowledged", "events", "quarantined", "completeness")} == {"batch": 1, "acknowledged": 2, "events": 0, "quarantined": 0, "completeness": 0.0}
    # One event lost from batch 0: 12 of its 13 records arrived.
    fewer = events.where("event_id != 'u0'")
    assert per_batch(spec, fewer, 3600, ranges=ranges[1:], quarantine=quarantine)[0]["completeness"] == round(12 / 13, 6)
