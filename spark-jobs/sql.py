"""Spark SQL over a pipeline's lake tables.

Usage: millrace sql --spec flights.yaml "SELECT count(*) FROM events"
   (or millrace submit --spec flights.yaml spark-jobs/sql.py -- --query-b64 BASE64 [--limit N])
The lake's tables are registered as views under their own names: events, quarantine and
predictions (each a Parquet directory of the pipeline's part of the lake), and quality once it
exists. A table with no data yet is not registered; a query naming it fails with Spark's own
"cannot be found" error, and the error names the tables there are.
Stdout: MILLRACE_RESULT {json}: columns [{name, type}], rows (lists, in column order; timestamps
as ISO 8601 text in UTC, decimals as text, binary as base64), row_count, truncated (more rows
than --limit existed) and tables (name -> path of each registered table).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import decimal
import math
import sys
from typing import Any, Sequence

from pyspark.errors import AnalysisException
from pyspark.sql import Row

from millrace_pipeline.cli import UsageError, base_parser, positive_int, run, spark_session
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs

#: The lake's tables, in the order they are listed; each is the LakePaths property of its name.
TABLES = ("events", "quarantine", "predictions", "quality")


class QueryError(UsageError):
    """A query that cannot run as given: Spark refused to parse or analyse it."""


def decode_query(text: str) -> str:
    """The query from its base64 form (how the CLI passes it, so no shell ever quotes it), with
    surrounding space and one trailing semicolon removed."""
    try:
        query = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise QueryError(f"--query-b64 is not base64 of UTF-8 text: {err}") from err
    query = query.strip()
    if query.endswith(";"):
        query = query[:-1].rstrip()
    if not query:
        raise QueryError("the query is empty")
    return query


def json_value(value: Any) -> Any:
    """One collected value as JSON can carry it, the same on every run: timestamps as ISO 8601
    text (UTC: the session's zone), decimals as text (no float rounding), binary as base64,
    structs as objects, maps with text keys, NaN and infinities as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Row):
        return {k: json_value(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, dict):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser: argparse.ArgumentParser = base_parser("Spark SQL over a pipeline's lake tables")
    parser.add_argument("--query-b64", required=True, help="the query, base64 of its UTF-8 text")
    parser.add_argument("--limit", type=positive_int, default=1000, help="at most this many rows in the result (default 1000)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    query = decode_query(args.query_b64)
    spark = spark_session(f"millrace-sql-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)
    tables: dict[str, str] = {}
    for name in TABLES:
        path = getattr(paths, name)
        # The directory root, so Spark reads a file sink's log and skips files of unfinished batches.
        if fs.exists(path):
            spark.read.parquet(path).createOrReplaceTempView(name)
            tables[name] = path
    try:
        df = spark.sql(query)
    except AnalysisException as err:  # a parse error is one too; reported with the tables there are
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        have = ", ".join(tables) or "none yet (nothing has landed)"
        raise QueryError(f"{first}\n  the lake's tables for {spec.name}: {have}") from err
    rows = df.limit(args.limit + 1).collect()
    truncated = len(rows) > args.limit
    rows = rows[: args.limit]
    return {
        "job": "sql",
        "spec": spec.name,
        "columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in df.schema.fields],
        "rows": [[json_value(v) for v in row] for row in rows],
        "row_count": len(rows),
        "truncated": truncated,
        "tables": tables,
    }


if __name__ == "__main__":
    sys.exit(run(main))
