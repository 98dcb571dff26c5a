"""Data quality (millrace_pipeline/quality.py) over a lake that ingest really wrote, from a topic with
known duplicates, nulls, late events, unknown fields and an invalid record: each number must be the
one injected."""
import dataclasses
import threading

import pytest

from millrace_pipeline.paths import LakePaths
from millrace_pipeline.quality import daily, per_batch, quality_frame, quality_metrics, totals, with_landed_at
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
    rows = [kafka_row(v, offset=i, partition=i % 2) for i, v in enumerate(records)]
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
