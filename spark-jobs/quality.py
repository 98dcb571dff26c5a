"""Data quality of a pipeline's lake, per day and per ingest micro-batch (millrace_pipeline/quality.py
says what each measure is; a batch's completeness comes from ingest's checkpoint). The results replace <lake>/<name>/quality/ (the `quality` table of
`millrace sql`) and, on the Spark master's node, the node exporter's quality-<name>.prom.

Usage: millrace quality --spec flights.yaml   (or: millrace submit --spec flights.yaml spark-jobs/quality.py [-- --late-after 3600])
Stdout: MILLRACE_RESULT {json}: days, batches (the last 50, newest first), totals, quality_path.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Sequence

from pyspark.sql import DataFrame

from millrace_pipeline.cli import base_parser, run, spark_session
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.prometheus import METRICS_DIR_CONF, write_textfile
from millrace_pipeline.quality import BatchRange, batch_ranges, daily, per_batch, quality_frame, quality_metrics, read_topic, totals, with_landed_at
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs

#: How many of ingest's newest micro-batches are measured.
LAST_BATCHES = 50


def ingest_ranges(fs: LakeFs, checkpoint: str, topic: str) -> list[BatchRange] | None:
    """The newest committed batches of ingest's events query and the offsets each read, from its
    checkpoint; None when there is no checkpoint (ingest never ran)."""
    if not fs.exists(f"{checkpoint}/offsets"):
        return None
    numbered = lambda d: sorted(int(n) for n in fs.list_names(f"{checkpoint}/{d}") if n.isdigit())  # noqa: E731
    committed = set(numbered("commits"))
    # The newest entries, and the one before the oldest of them (where it began).
    wanted = [b for b in numbered("offsets") if b in committed or b + 1 in committed][-(LAST_BATCHES + 1) :]
    log = {b: fs.read_text(f"{checkpoint}/offsets/{b}") for b in wanted}
    initial = f"{checkpoint}/sources/0/0"
    return batch_ranges(log, committed, fs.read_text(initial) if fs.exists(initial) else None, topic, LAST_BATCHES)

def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("data quality of a pipeline's lake: completeness, duplicates, nulls, late events, unknown fields, freshness")
    parser.add_argument("--late-after", type=float, default=3600.0, help="an event produced more than this many seconds after its event time is late (default 3600)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    spark = spark_session(f"millrace-quality-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)

    def read(path: str) -> DataFrame | None:
        return spark.read.parquet(path) if fs.exists(path) else None

    events = read(paths.events)
    if events is not None:
        events = with_landed_at(events).cache()
    quarantine = read(paths.quarantine)
    topic = read_topic(spark, spec.topic)
    days = daily(spec, events, quarantine, topic, args.late_after)
    ranges = ingest_ranges(fs, paths.checkpoint("ingest", "events"), spec.topic)
    batches = per_batch(spec, events, args.late_after, LAST_BATCHES, ranges, quarantine)
    t = totals(days)
    computed_at = time.time()
    quality_frame(spark, [*days, *batches], computed_at).coalesce(1).write.mode("overwrite").parquet(paths.quality)
    metrics_dir = spark.conf.get(METRICS_DIR_CONF, None)
    metrics_file = None
    if metrics_dir:
        try:
            metrics_file = os.path.join(metrics_dir, f"quality-{spec.name}.prom")
            write_textfile(metrics_file, quality_metrics(spec.name, t, computed_at))
        except OSError as e:
            print(f"millrace metrics: no quality metrics for Prometheus: cannot write to {metrics_dir} ({e})", file=sys.stderr, flush=True)
            metrics_file = None
    return {"job": "quality", "spec": spec.name, "late_after_s": args.late_after, "totals": t, "days": days, "batches": batches, "quality_path": paths.quality, "metrics_file": metrics_file}


if __name__ == "__main__":
    sys.exit(run(main))
