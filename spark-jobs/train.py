"""Training: events in the lake -> an MLlib regression pipeline for spec.model.label, evaluated on a
seeded test split against the mean-predictor baseline, saved as <lake>/<name>/models/v<UTC time>/
(model/ and metrics.json). The `latest` pointer moves to it only if it beats the baseline RMSE.

Usage: millrace submit spark-jobs/train.py --spec flights.json [--sample-fraction F] [--max-rows N]
       [--test-fraction 0.2] [--seed 42] [--algorithm linear|gbt|random_forest] [--tune|--no-tune]
Stdout: MILLRACE_RESULT {json with the metrics} as the last line. Exit 1 if the baseline was not beaten.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from typing import Any, Sequence

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from millrace_pipeline.cli import base_parser, fraction, positive_int, run, spark_session
from millrace_pipeline.features import ALGORITHMS, build_pipeline, chosen_params, label_mean, plan_features, regression_metrics, training_frame, tree_categories, tuned
from millrace_pipeline.models import ModelStore, ModelStoreError
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.spec import SpecError, load_spec
from millrace_pipeline.storage import LakeFs

MIN_ROWS = 20


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = base_parser("Train a regression model on the lake's events; save it as a new version")
    parser.add_argument("--sample-fraction", type=fraction, default=1.0, help="train on this random fraction of the events (default 1)")
    parser.add_argument("--max-rows", type=positive_int, default=None, help="use at most this many rows (after sampling)")
    parser.add_argument("--test-fraction", type=fraction, default=0.2, help="held out for the metrics (default 0.2)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sample and the split (default 42)")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default=None,
                        help="overrides the spec's model.algorithm (default linear): linear is fast, with one-hot features; "
                             "gbt (20 boosted trees) and random_forest (30 trees) are better and several times slower")
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=None,
                        help="overrides the spec's model.tuning: pick the algorithm's settings with a TrainValidationSplit")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    spec = load_spec(args.spec)
    if spec.model is None:
        raise SpecError(args.spec, [("model", "required to train")])
    spark: SparkSession = spark_session(f"millrace-train-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)
    store = ModelStore(fs, paths)
    now = datetime.now(timezone.utc)
    version = store.reserve(now)
    if not fs.exists(paths.events):
        raise ModelStoreError(f"no events at {paths.events}; run ingest.py first")

    frame = training_frame(spark.read.parquet(paths.events), spec)
    if args.sample_fraction < 1:
        frame = frame.sample(fraction=args.sample_fraction, seed=args.seed)
    if args.max_rows:
        # limit() leaves one partition; spread the rows again so every core trains.
        frame = frame.limit(args.max_rows).repartition(spark.sparkContext.defaultParallelism)
    # Cached so that the split is computed from one fixed set of rows, and for the passes of fit().
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    rows = frame.count()
    if rows < MIN_ROWS:
        raise ModelStoreError(f"only {rows} usable rows in {paths.events} (need {MIN_ROWS}); ingest more events first")
    label = spec.model.label
    train, test = frame.randomSplit([1 - args.test_fraction, args.test_fraction], seed=args.seed)
    baseline = label_mean(train, label)

    algorithm = args.algorithm or spec.model.algorithm
    tuning = spec.model.tuning if args.tune is None else args.tune
    started = time.monotonic()
    pipeline = build_pipeline(spec, algorithm, args.seed, tree_categories(train, spec, algorithm))
    model = tuned(pipeline, spec, algorithm, args.seed).fit(train).bestModel if tuning else pipeline.fit(train)
    training_seconds = time.monotonic() - started
    metrics = regression_metrics(model.transform(test), label, baseline)
    rows_train = train.count()
    frame.unpersist()

    model.write().save(paths.model(version))
    plan = plan_features(spec, algorithm)
    result: dict[str, Any] = {
        "job": "train",
        "spec": spec.name,
        "version": version,
        "algorithm": algorithm,
        "tuned": tuning,
        "params": chosen_params(model, algorithm),
        "label": label,
        "numeric_features": list(plan.numeric),
        "recent_features": [{"name": r.name, "by": r.by, "hours": r.hours} for r in spec.model.recent],
        "categorical_features": list(plan.categorical),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "baseline_mean": round(baseline, 4),
        "rows_train": rows_train,
        "training_seconds": round(training_seconds, 1),
        "beats_baseline": metrics["rmse"] < metrics["baseline_rmse"],
        "trained_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_path": paths.model(version),
    }
    result["published"] = bool(result["beats_baseline"])
    if result["published"]:
        store.publish(version, result)
    else:
        store.write_metrics(version, result)
    return result


if __name__ == "__main__":
    sys.exit(run(main))
