"""Lake statistics: what landed, whether anything landed twice, and how long it took to get there.

Usage: millrace submit --spec flights.yaml spark-jobs/lake_stats.py [-- --id-prefix SOURCE# [--lake-totals] [--by-source]]
Stdout: MILLRACE_RESULT {json}: events, distinct_ids, duplicate_ids, quarantined, predictions,
prediction_distinct_ids, and produce_to_lake_ms {p50, p99, max} (from the time a record was produced
to the modification time of the Parquet file that holds it). With --lake-totals, also "lake": the
events, distinct ids and duplicated ids of the whole events table, from the same read of the files.
With --by-source, also "sources": the same three counts for each source name (the part of an id
before '#', as `millrace produce --source-name` makes them), so one job checks many produced batches.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from millrace_pipeline.cli import base_parser, run, spark_session
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs


def _id_counts(id_col: str) -> list[Column]:
    """Rows, distinct ids and ids seen more than once, over per-id counts (column "n")."""
    return [
        F.coalesce(F.sum("n"), F.lit(0)).alias("rows"),
        F.count(F.col(id_col)).alias("distinct"),
        F.count(F.when(F.col("n") > 1, True)).alias("duplicates"),
    ]


def _per_id(df: DataFrame, id_col: str) -> DataFrame:
    return df.groupBy(id_col).agg(F.count(F.lit(1)).alias("n"))


def id_stats(df: DataFrame, id_col: str) -> dict[str, int]:
    """Rows, distinct ids, and ids that occur more than once, in one pass over the files: the
    per-id counts are the only aggregation that reads them (a lake of many small streaming files
    makes each read the cost)."""
    row = _per_id(df, id_col).agg(*_id_counts(id_col)).first()
    return {"rows": int(row["rows"]), "distinct": int(row["distinct"]), "duplicates": int(row["duplicates"])}


def source_stats(df: DataFrame, id_col: str) -> dict[str, dict[str, int]]:
    """id_stats for each source name (an id's part before its first '#'), from one per-id count."""
    rows = _per_id(df, id_col).groupBy(F.substring_index(F.col(id_col), "#", 1).alias("source")).agg(*_id_counts(id_col)).collect()
    return {
        r["source"]: {"events": int(r["rows"]), "distinct_ids": int(r["distinct"]), "duplicate_ids": int(r["duplicates"])}
        for r in rows
        if r["source"] is not None
    }


def with_prefix(df: DataFrame, id_col: str, prefix: str | None) -> DataFrame:
    """The rows whose id starts with prefix (all of them without one, or in a table without the id column)."""
    return df.where(F.col(id_col).startswith(prefix)) if prefix and id_col in df.columns else df


def latency_ms(df: DataFrame, start: str, end: str) -> dict[str, float | None]:
    """p50, p99 and max of end - start, in milliseconds, over rows that have both."""
    ms = (F.unix_micros(F.col(end)) - F.unix_micros(F.col(start))) / 1000.0
    row = (
        df.where(F.col(start).isNotNull() & F.col(end).isNotNull())
        .select(ms.alias("ms"))
        .agg(F.percentile_approx("ms", [0.5, 0.99], 10000).alias("p"), F.max("ms").alias("max"), F.count(F.lit(1)).alias("n"))
        .first()
    )
    if not row or not row["n"]:
        return {"p50": None, "p99": None, "max": None, "rows": 0}
    return {"p50": float(row["p"][0]), "p99": float(row["p"][1]), "max": float(row["max"]), "rows": int(row["n"])}


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("counts, duplicates and latency of a pipeline's data in the lake")
    parser.add_argument("--id-prefix", default=None, help="only rows whose id starts with this (one produced batch)")
    parser.add_argument("--lake-totals", action="store_true", help="also count the whole events table (no prefix), in the same job")
    parser.add_argument("--by-source", action="store_true", help="also count each source name's rows (ids <source>#<n>), in the same job")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    spark = spark_session(f"millrace-lake-stats-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)

    def read(path: str, prefixed: bool = True) -> DataFrame | None:
        # The directory root, so Spark reads the file sink's log and skips files of unfinished batches.
        if not fs.exists(path):
            return None
        df = spark.read.parquet(path)
        return with_prefix(df, spec.id, args.id_prefix) if prefixed else df

    result: dict[str, Any] = {"job": "lake_stats", "spec": spec.name, "id_prefix": args.id_prefix}
    whole = args.lake_totals or args.by_source
    events = read(paths.events, prefixed=not whole)
    if events is not None:
        # The three columns every result needs, read from the files once and kept (small: ~50 bytes a row).
        landed = events.select(spec.id, "produced_at", F.col("_metadata.file_modification_time").alias("landed_at")).persist(StorageLevel.MEMORY_AND_DISK)
        mine = with_prefix(landed, spec.id, args.id_prefix) if whole else landed
        s = id_stats(mine, spec.id)
        result.update(events=s["rows"], distinct_ids=s["distinct"], duplicate_ids=s["duplicates"])
        result["produce_to_lake_ms"] = latency_ms(mine, "produced_at", "landed_at")
        if args.lake_totals:
            t = id_stats(landed, spec.id)
            result["lake"] = {"events": t["rows"], "distinct_ids": t["distinct"], "duplicate_ids": t["duplicates"]}
        if args.by_source:
            result["sources"] = source_stats(landed, spec.id)
        landed.unpersist()
    else:
        result.update(events=0, distinct_ids=0, duplicate_ids=0, produce_to_lake_ms=None)
        if args.lake_totals:
            result["lake"] = {"events": 0, "distinct_ids": 0, "duplicate_ids": 0}
        if args.by_source:
            result["sources"] = {}
    quarantine = read(paths.quarantine)
    result["quarantined"] = quarantine.count() if quarantine is not None else 0
    predictions = read(paths.predictions)
    if predictions is not None:
        p = id_stats(predictions, spec.id)
        result.update(predictions=p["rows"], prediction_distinct_ids=p["distinct"], prediction_duplicate_ids=p["duplicates"])
    else:
        result.update(predictions=0, prediction_distinct_ids=0, prediction_duplicate_ids=0)
    return result


if __name__ == "__main__":
    sys.exit(run(main))
