"""millrace sql's job: the query's transport, JSON values, and a query over a lake on local disk."""
import base64
import datetime as dt
import decimal
import json
from pathlib import Path

import pytest
import yaml
from pyspark.sql import Row

from sql import QueryError, decode_query, json_value, main


FLIGHTS_YAML = Path(__file__).resolve().parents[2] / "examples" / "pipelines" / "flights.yaml"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_decode_query_strips_space_and_one_trailing_semicolon():
    assert decode_query(b64("  SELECT 'a;b' ;\n")) == "SELECT 'a;b'"
    assert decode_query(b64("SELECT ünïcode")) == "SELECT ünïcode"


@pytest.mark.parametrize("text, problem", [("not base64!", "not base64"), (b64("  ;  "), "empty"), (base64.b64encode(b"\xff\xfe").decode(), "not base64 of UTF-8")])
def test_decode_query_refuses_what_is_no_query(text, problem):
    with pytest.raises(QueryError, match=problem):
        decode_query(text)


def test_json_value_is_stable_for_every_kind_of_value():
    assert json_value(dt.datetime(2026, 1, 2, 3, 4, 5, 600000)) == "2026-01-02T03:04:05.600000"
    assert json_value(dt.date(2026, 1, 2)) == "2026-01-02"
    assert json_value(decimal.Decimal("1.10")) == "1.10"
    assert json_value(b"\x00\x01") == "AAE="
    assert json_value(float("nan")) == "nan"
    assert json_value(Row(a=1, b=[Row(c=dt.date(2026, 1, 1))])) == {"a": 1, "b": [{"c": "2026-01-01"}]}
    assert json_value({1: "x"}) == {"1": "x"}
    json.dumps(json_value({"k": [1.5, None, True]}))


def test_a_query_over_the_lake_tables(spark, tmp_path, flights):
    lake = tmp_path / "lake"
    spark.createDataFrame([(f"run#{i}", "MCI" if i % 2 else "ORD") for i in range(10)], "event_id string, origin string").write.parquet(
        str(lake / flights.name / "events"))
    spark.createDataFrame([("bad json",)], "reason string").write.parquet(str(lake / flights.name / "quarantine"))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(yaml.safe_load(FLIGHTS_YAML.read_text())))
    spark.conf.set("spark.millrace.lake", str(lake))
    try:
        got = main(["--spec", str(spec), "--query-b64", b64("SELECT origin, count(*) AS n FROM events GROUP BY origin ORDER BY origin;"), "--limit", "1"])
        assert got["columns"] == [{"name": "origin", "type": "string"}, {"name": "n", "type": "bigint"}]
        assert got["rows"] == [["MCI", 5]]
        assert got["truncated"] is True
        assert sorted(got["tables"]) == ["events", "quarantine"]
        # predictions has no data yet: not registered, and the error lists the tables there are.
        with pytest.raises(QueryError, match="the lake's tables for .*: events, quarantine"):
            main(["--spec", str(spec), "--query-b64", b64("SELECT * FROM predictions")])
        with pytest.raises(QueryError, match="PARSE_SYNTAX_ERROR|Syntax error"):
            main(["--spec", str(spec), "--query-b64", b64("SELEC 1")])
    finally:
        spark.conf.unset("spark.millrace.lake")
