import dataclasses
from datetime import datetime

import pytest

from millrace_pipeline.spec import parse_spec
from millrace_pipeline.transforms import REASON, enrich_events, lake_events, parse_records, quarantine_records

from conftest import DROP, PRODUCED_AT_MS, flight, kafka_frame


def by_offset(df):
    """Rows in Kafka offset order, sorted here rather than with a Spark shuffle."""
    return sorted(df.collect(), key=lambda r: r["kafka_offset"])


def reasons(spark, spec, values):
    rows = by_offset(parse_records(kafka_frame(spark, values), spec))
    return [r[REASON] for r in rows]


def test_a_valid_record_parses_into_typed_columns(spark, flights):
    row = parse_records(kafka_frame(spark, [flight()]), flights).first()
    assert row[REASON] is None
    assert row["event_id"] == "flights-3m.parquet:0"
    assert row["date"] == datetime(2001, 1, 14, 21, 45)
    assert (row["delay"], row["distance"], row["origin"], row["destination"]) == (14, 405, "MCI", "MDW")
    assert row["_key"] == "MCI"
    assert (row["kafka_partition"], row["kafka_offset"]) == (0, 0)
    assert row["produced_at"] == datetime(2025, 11, 24, 23, 15, 0, 123000)


REASON_CASES = [
    (None, "value is missing"),
    ("{not json", "value is not valid JSON"),
    ("[1, 2]", "value is not a JSON object"),
    ("42", "value is not a JSON object"),
    (flight(delay=DROP), "missing required field 'delay'"),
    (flight(delay=None), "missing required field 'delay'"),
    (flight(delay="12"), "field 'delay' must be int, got string"),
    (flight(delay=1.5), "field 'delay' must be int, got number"),
    (flight(delay=3_000_000_000), "field 'delay' is out of range for int"),
    (flight(origin=12), "field 'origin' must be string, got integer"),
    (flight(origin={"code": "MCI"}), "field 'origin' must be string, got object"),
    (flight(date="yesterday"), "field 'date' is not an ISO-8601 timestamp"),
    (flight(date="2001-02-30T00:00:00Z"), "field 'date' is not an ISO-8601 timestamp"),
    (flight(date="2001-01-14"), "field 'date' is not an ISO-8601 timestamp"),
    (flight(date=979508700000), "field 'date' must be timestamp, got integer"),
    (flight(event_id=DROP), "missing required field 'event_id'"),
    (flight(event_id=[1]), "field 'event_id' must be string or integer, got array"),
    (
        flight(delay=DROP, origin=True, date="2001-13-01T00:00Z"),
        "field 'date' is not an ISO-8601 timestamp; missing required field 'delay'; field 'origin' must be string, got boolean",
    ),
]


@pytest.fixture(scope="module")
def reasons_of_cases(spark, flights):
    """One Spark job for all cases: each job has a fixed cost that dwarfs one row's parsing."""
    return reasons(spark, flights, [value for value, _ in REASON_CASES])


@pytest.mark.parametrize("case", range(len(REASON_CASES)), ids=[reason for _, reason in REASON_CASES])
def test_invalid_records_get_an_exact_reason(reasons_of_cases, case):
    assert reasons_of_cases[case] == REASON_CASES[case][1]


def test_accepted_variants_of_the_wire_format(spark, flights):
    values = [
        flight(event_id=42, delay=7.0, extra="ignored"),
        flight(date="2001-01-15T01:30:00+02:00"),
        flight(date="2001-01-14 21:45:00"),
    ]
    rows = by_offset(parse_records(kafka_frame(spark, values), flights))
    assert [r[REASON] for r in rows] == [None, None, None]
    assert (rows[0]["event_id"], rows[0]["delay"]) == ("42", 7)
    assert rows[1]["date"] == datetime(2001, 1, 14, 23, 30)  # converted to UTC
    assert rows[2]["date"] == datetime(2001, 1, 14, 21, 45)  # no zone: UTC


def test_optional_fields_may_be_absent_or_null_but_not_mistyped(spark):
    spec = parse_spec(
        {
            "name": "s", "topic": "s", "id": "id", "eventTime": "ts",
            "fields": [
                {"name": "ts", "type": "timestamp", "required": True},
                {"name": "ok", "type": "boolean"},
                {"name": "x", "type": "double"},
            ],
        }
    )
    base = {"id": "a", "ts": "2001-01-14T21:45:00Z"}
    values = [base, {**base, "ok": None, "x": 3}, {**base, "ok": "yes", "x": "1.5"}]
    assert reasons(spark, spec, values) == [None, None, "field 'ok' must be boolean, got string; field 'x' must be double, got string"]


def test_quarantine_keeps_the_reason_raw_value_and_kafka_position(spark, flights):
    parsed = parse_records(kafka_frame(spark, [flight(), "{not json", flight(delay="late")]), flights)
    rows = by_offset(quarantine_records(parsed))
    assert rows[0].asDict().keys() == {
        "reason", "value", "key", "kafka_partition", "kafka_offset", "kafka_timestamp", "produced_at", "quarantined_at"
    }
    assert [(r["reason"], r["value"], r["kafka_offset"]) for r in rows] == [
        ("value is not valid JSON", "{not json", 1),
        ("field 'delay' must be int, got string", '{"event_id": "flights-3m.parquet:0", "date": "2001-01-14T21:45:00.000Z", '
         '"delay": "late", "distance": 405, "origin": "MCI", "destination": "MDW"}', 2),
    ]
    assert rows[0]["key"] == "MCI"


def test_enrichment_derives_utc_date_hour_and_iso_day_of_week(spark, flights):
    values = [
        flight(),  # Sunday 2001-01-14 21:45 UTC
        flight(date="2001-01-15T01:30:00+02:00"),  # still Sunday in UTC
        flight(date="2001-01-15T00:00:00.000Z"),  # Monday
    ]
    parsed = parse_records(kafka_frame(spark, values), flights)
    rows = by_offset(lake_events(parsed, flights))
    assert [(str(r["event_date"]), r["hour_of_day"], r["day_of_week"]) for r in rows] == [
        ("2001-01-14", 21, 7), ("2001-01-14", 23, 7), ("2001-01-15", 0, 1)
    ]
    assert rows[0]["event_time"] == datetime(2001, 1, 14, 21, 45)
    assert rows[0]["produced_at"] == datetime.utcfromtimestamp(PRODUCED_AT_MS / 1000)
    assert rows[0]["ingested_at"] is not None


def test_lake_events_columns_and_invalid_rows_dropped(spark, flights):
    parsed = parse_records(kafka_frame(spark, [flight(), "nope"]), flights)
    events = lake_events(parsed, flights)
    assert events.columns == [
        "event_id", "date", "delay", "distance", "origin", "destination",
        "event_time", "event_date", "hour_of_day", "day_of_week", "ingested_at",
        "kafka_partition", "kafka_offset", "kafka_timestamp", "produced_at",
    ]
    assert events.count() == 1
    by_month = lake_events(parsed, dataclasses.replace(flights, lake_partition="month"))
    assert by_month.columns[10:12] == ["ingested_at", "event_month"]
    assert by_month.first()["event_month"] == "2001-01"


def test_enrich_events_works_on_any_frame_with_the_event_time(spark, flights):
    df = spark.createDataFrame([(datetime(2024, 2, 29, 12, 0),)], "date timestamp")
    row = enrich_events(df, flights).first()
    assert (str(row["event_date"]), row["hour_of_day"], row["day_of_week"]) == ("2024-02-29", 12, 4)


def test_produced_at_is_the_records_timestamp_or_an_older_producers_header(spark, flights):
    from conftest import KAFKA_SCHEMA, kafka_row

    header_ms = PRODUCED_AT_MS - 5000
    rows = [kafka_row(flight(), offset=0), kafka_row(flight(), offset=1, produced_at_header=header_ms)]
    got = {r["kafka_offset"]: r["produced_at"] for r in parse_records(spark.createDataFrame(rows, KAFKA_SCHEMA), flights).collect()}
    assert got == {0: datetime.utcfromtimestamp(PRODUCED_AT_MS / 1000), 1: datetime.utcfromtimestamp(header_ms / 1000)}


def test_each_record_is_parsed_once_even_under_the_validity_filters(spark, flights, tmp_path):
    """Predicate pushdown once inlined the validation into the filters: the JSON parse appeared
    hundreds of times and the generated code outgrew the JVM's 64 KB method limit."""
    kafka_frame(spark, [flight()]).write.parquet(str(tmp_path / "topic"))  # not a local relation: no folding
    source = spark.read.parquet(str(tmp_path / "topic"))
    for df in (lake_events(parse_records(source, flights), flights), quarantine_records(parse_records(source, flights))):
        assert df._jdf.queryExecution().optimizedPlan().toString().count("parseJson") == 1
