"""Lake statistics: duplicates by id and latency percentiles, on a local SparkSession."""
from datetime import datetime, timedelta, timezone

from lake_stats import id_stats, latency_ms, source_stats, with_prefix


def test_id_stats_counts_rows_distinct_ids_and_duplicated_ids(spark):
    df = spark.createDataFrame([("a",), ("b",), ("b",), ("c",), ("c",), ("c",)], ["event_id"])
    assert id_stats(df, "event_id") == {"rows": 6, "distinct": 3, "duplicates": 2}


def test_id_stats_of_nothing_and_of_null_ids(spark):
    assert id_stats(spark.createDataFrame([], "event_id string"), "event_id") == {"rows": 0, "distinct": 0, "duplicates": 0}
    # As count(distinct) has it: a null id is a row, not an id; two of them are one duplicated group.
    df = spark.createDataFrame([("a",), (None,), (None,)], "event_id string")
    assert id_stats(df, "event_id") == {"rows": 3, "distinct": 1, "duplicates": 1}


def test_latency_ms_takes_percentiles_of_end_minus_start(spark):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [(t0, t0 + timedelta(milliseconds=ms)) for ms in range(1, 101)] + [(None, t0)]
    df = spark.createDataFrame(rows, "produced_at timestamp, landed_at timestamp")
    got = latency_ms(df, "produced_at", "landed_at")
    assert got["rows"] == 100
    assert got["p50"] == 50.0
    assert got["p99"] == 99.0
    assert got["max"] == 100.0


def test_latency_ms_without_rows(spark):
    df = spark.createDataFrame([], "produced_at timestamp, landed_at timestamp")
    assert latency_ms(df, "produced_at", "landed_at") == {"p50": None, "p99": None, "max": None, "rows": 0}


def test_with_prefix_keeps_one_batch_and_leaves_tables_without_the_id_alone(spark):
    df = spark.createDataFrame([("run1#1",), ("run1#2",), ("run2#1",)], ["event_id"])
    assert sorted(r["event_id"] for r in with_prefix(df, "event_id", "run1#").collect()) == ["run1#1", "run1#2"]
    assert with_prefix(df, "event_id", None).count() == 3
    other = spark.createDataFrame([("x",)], ["reason"])
    assert with_prefix(other, "event_id", "run1#").count() == 1


def test_source_stats_counts_each_source_apart(spark):
    df = spark.createDataFrame([("run1#1",), ("run1#2",), ("run1#2",), ("run2#1",), ("run3-score#1",), ("nohash",), (None,)], "event_id string")
    assert source_stats(df, "event_id") == {
        "run1": {"events": 3, "distinct_ids": 2, "duplicate_ids": 1},
        "run2": {"events": 1, "distinct_ids": 1, "duplicate_ids": 0},
        "run3-score": {"events": 1, "distinct_ids": 1, "duplicate_ids": 0},
        "nohash": {"events": 1, "distinct_ids": 1, "duplicate_ids": 0},
    }
