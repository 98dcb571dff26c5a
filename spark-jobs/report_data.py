"""The lake's part of `millrace report`: data quality per day (millrace_pipeline/quality.py), the
lake's growth, the quarantine's reasons, each model version's metrics, and a sample of predictions
next to their events' actual labels (millrace_pipeline/report.py).

Usage: millrace report --spec flights.yaml   (or: millrace submit --spec flights.yaml spark-jobs/report_data.py)
Stdout: MILLRACE_RESULT {json}: quality {days, totals}, lake_growth, quarantine_reasons, models,
predictions_sample, live_errors, label.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from pyspark.sql import DataFrame

from millrace_pipeline.cli import base_parser, run, spark_session
from millrace_pipeline.models import ModelStore
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.quality import daily, read_topic, totals, with_landed_at
from millrace_pipeline.report import lake_growth, live_errors, model_summary, predictions_sample, quarantine_reasons
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("the lake's figures for millrace report")
    parser.add_argument("--late-after", type=float, default=3600.0, help="an event produced more than this many seconds after its event time is late (default 3600)")
    parser.add_argument("--sample", type=int, default=1000, help="predictions drawn against their actual labels (default 1000)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    spark = spark_session(f"millrace-report-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)

    def read(path: str) -> DataFrame | None:
        return spark.read.parquet(path) if fs.exists(path) else None

    events, quarantine, predictions = read(paths.events), read(paths.quarantine), read(paths.predictions)
    if events is not None:
        events = with_landed_at(events).cache()
    days = daily(spec, events, quarantine, read_topic(spark, spec.topic), args.late_after)
    store = ModelStore(fs, paths)
    latest = store.latest()
    versions = [v for v in fs.list_names(paths.models) if v.startswith("v") and fs.exists(paths.metrics(v))]
    label = spec.model.label if spec.model else None
    return {
        "job": "report_data",
        "spec": spec.name,
        "label": label,
        "quality": {"days": days, "totals": totals(days)},
        "lake_growth": lake_growth(events) if events is not None else [],
        "quarantine_reasons": quarantine_reasons(quarantine) if quarantine is not None else [],
        "models": [model_summary(v, store.metrics(v), latest) for v in versions],
        "predictions_sample": predictions_sample(predictions, spec.id, label, args.sample) if predictions is not None and label else [],
        "live_errors": live_errors(predictions, label) if predictions is not None and label else [],
    }


if __name__ == "__main__":
    sys.exit(run(main))
