"""Lake statistics: what landed, whether anything landed twice, and how long it took to get there.

Usage: millrace submit --spec flights.yaml spark-jobs/lake_stats.py [-- --id-prefix SOURCE#]
Stdout: MILLRACE_RESULT {json}: events, distinct_ids, duplicate_ids, quarantined, predictions,
prediction_distinct_ids, and produce_to_lake_ms {p50, p99, max} (from the time a record was produced
to the modification time of the Parquet file that holds it).
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from millrace_pipeline.cli import base_parser, run, spark_session
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs


def id_stats(df: DataFrame, id_col: str) -> dict[str, int]:
    """Rows, distinct ids, and ids that occur more than once."""
    row = df.agg(F.count(F.lit(1)).alias("rows"), F.countDistinct(id_col).alias("distinct")).first()
    dups = df.groupBy(id_col).count().where(F.col("count") > 1).count()
    return {"rows": int(row["rows"]), "distinct": int(row["distinct"]), "duplicates": int(dups)}


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
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    spark = spark_session(f"millrace-lake-stats-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)

    def read(path: str) -> DataFrame | None:
        # The directory root, so Spark reads the file sink's log and skips files of unfinished batches.
        if not fs.exists(path):
            return None
        df = spark.read.parquet(path)
        return df.where(F.col(spec.id).startswith(args.id_prefix)) if args.id_prefix and spec.id in df.columns else df

    result: dict[str, Any] = {"job": "lake_stats", "spec": spec.name, "id_prefix": args.id_prefix}
    events = read(paths.events)
    if events is not None:
        s = id_stats(events, spec.id)
        result.update(events=s["rows"], distinct_ids=s["distinct"], duplicate_ids=s["duplicates"])
        landed = events.select("produced_at", F.col("_metadata.file_modification_time").alias("landed_at"))
        result["produce_to_lake_ms"] = latency_ms(landed, "produced_at", "landed_at")
    else:
        result.update(events=0, distinct_ids=0, duplicate_ids=0, produce_to_lake_ms=None)
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
