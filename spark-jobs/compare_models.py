"""Model versions side by side (A/B scoring): each version's error on the events it scored, read from
<lake>/<name>/predictions/, with the error it had on its training run's test split (metrics.json).

Usage: millrace submit --spec flights.yaml spark-jobs/compare_models.py [-- --id-prefix SOURCE#] [--versions vA,vB]
Stdout: MILLRACE_RESULT {json}: "versions", one per model version that scored an event with its
label: model_version, predictions, rmse, mae, mean_prediction, and "trained" (rmse, baseline_rmse,
algorithm from metrics.json, when the version has one).
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from pyspark.sql import functions as F

from millrace_pipeline.cli import UsageError, base_parser, run, spark_session
from millrace_pipeline.models import ModelStore, parse_pointer
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.scoring import errors_by_version
from millrace_pipeline.spec import SpecError, load_spec
from millrace_pipeline.storage import LakeFs


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("each model version's error on the events it scored (A/B), from the lake's predictions")
    parser.add_argument("--id-prefix", default=None, help="only predictions of events whose id starts with this (one produced batch)")
    parser.add_argument("--versions", default=None, help="only these versions, comma-separated (default: every version that scored)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    if spec.model is None:
        raise SpecError(args.spec, [("model", "required to compare model versions")])
    spark = spark_session(f"millrace-compare-models-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)
    if not fs.exists(paths.predictions):
        raise UsageError(f"no predictions at {paths.predictions} yet; run score.py first")
    predictions = spark.read.parquet(paths.predictions)
    if args.id_prefix:
        predictions = predictions.where(F.col(spec.id).startswith(args.id_prefix))
    if args.versions:
        predictions = predictions.where(F.col("model_version").isin([parse_pointer(v) for v in args.versions.split(",")]))
    store = ModelStore(fs, paths)
    versions = errors_by_version(predictions, spec.model.label)
    for v in versions:
        if fs.exists(paths.metrics(str(v["model_version"]))):
            m = store.metrics(str(v["model_version"]))
            v["trained"] = {k: m.get(k) for k in ("rmse", "baseline_rmse", "algorithm", "rows_train")}
    return {"job": "compare_models", "spec": spec.name, "label": spec.model.label, "id_prefix": args.id_prefix, "versions": versions}


if __name__ == "__main__":
    sys.exit(run(main))
