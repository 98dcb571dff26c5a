"""Streaming scoring: the latest model (or --model-version) applied to the topic's events.
Predictions go to the Kafka topic <topic>.predictions (keyed like the input) and to
<lake>/<name>/predictions/ (Parquet). Invalid records are skipped (ingest quarantines them).
A/B: --ab-version names a second version that scores --ab-share of the events (by a hash of the
event id, seeded by --ab-seed), the first the rest; each prediction's model_version says which, and
compare_models.py gives each version's error on the events that carried their label.

Usage: millrace submit spark-jobs/score.py --spec flights.json [--available-now] [--trigger-seconds 5]
       [--starting-offsets latest|earliest] [--max-offsets-per-trigger N] [--model-version vYYYYMMDDTHHMMSSZ]
       [--ab-version vYYYYMMDDTHHMMSSZ [--ab-share 0.5] [--ab-seed 0]] [--real-time SECONDS]
--real-time runs the Kafka → Kafka query in Spark's real-time mode (predictions within milliseconds
of their event, checkpointed every SECONDS); it holds one core per partition of the topic for as
long as it runs, so give the job spark.cores.max of the partitions + 1 (the lake's copy stays on
micro-batches of --trigger-seconds).
Stdout: MILLRACE_PROGRESS {json} per micro-batch; MILLRACE_RESULT {json} when the queries end.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from pyspark.ml import PipelineModel

from millrace_pipeline.cli import UsageError, add_stream_args, base_parser, run, spark_session, stop_on_signals
from millrace_pipeline.kafka import kafka_sink_options
from millrace_pipeline.models import ModelStore, parse_pointer
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import MESSAGES_QUERY, Challenger, query_prefix, start_score
from millrace_pipeline.features import recent_snapshot
from millrace_pipeline.spec import load_spec, value_schema
from millrace_pipeline.storage import LakeFs
from millrace_pipeline.streaming import emit, kafka_reader, real_time_trigger, run_queries, trigger_options, PROGRESS_PREFIX


def share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text}: the challenger's share must be above 0 and below 1, e.g. 0.5")
    return value


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("Score the topic's events with a trained model; predictions to Kafka and the lake")
    add_stream_args(parser, default_offsets="latest")
    parser.add_argument("--model-version", default=None, help="a version under models/ (default: the one `latest` names)")
    parser.add_argument("--ab-version", default=None, help="A/B: a second version under models/ that scores --ab-share of the events")
    parser.add_argument("--ab-share", type=share, default=0.5, help="A/B: the challenger's share of the events, above 0 and below 1 (default 0.5)")
    parser.add_argument("--real-time", type=float, default=None, metavar="SECONDS",
                        help="the Kafka predictions in Spark's real-time mode, checkpointed every SECONDS (5 or more); needs spark.cores.max of the topic's partitions + 1")
    parser.add_argument("--ab-seed", type=int, default=0, help="A/B: the seed of the hash that splits the events by id (default 0)")
    args = parser.parse_args(argv)
    if args.real_time is not None and args.available_now:
        raise UsageError("--real-time and --available-now: a real-time query runs until it is stopped; choose one")
    try:
        messages_trigger = real_time_trigger(args.real_time) if args.real_time is not None else None
    except ValueError as e:
        raise UsageError(f"--real-time {args.real_time:g}: {e}") from e
    spec = load_spec(args.spec)
    trigger = trigger_options(args.trigger_seconds, args.available_now)
    stop = stop_on_signals()

    spark = spark_session(f"millrace-score-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    fs = LakeFs(spark)
    store = ModelStore(fs, paths)
    version = parse_pointer(args.model_version) if args.model_version else store.require_latest()
    model = PipelineModel.load(paths.model(version))
    emit(PROGRESS_PREFIX, {"job": "score", "event": "model-loaded", "model_version": version, "path": paths.model(version)})
    challenger = None
    if args.ab_version:
        b = parse_pointer(args.ab_version)
        if b == version:
            raise UsageError(f"--ab-version {b} is the version that already scores; name another")
        if not fs.exists(paths.model(b)):
            raise UsageError(f"--ab-version {b}: there is no model at {paths.model(b)} (train.py prints each version it saves)")
        challenger = Challenger(b, PipelineModel.load(paths.model(b)), args.ab_share, args.ab_seed)
        emit(PROGRESS_PREFIX, {"job": "score", "event": "model-loaded", "model_version": b, "path": paths.model(b), "ab_share": args.ab_share, "ab_seed": args.ab_seed})

    recent = None
    if spec.model is not None and spec.model.recent:
        events = spark.read.parquet(paths.events) if fs.exists(paths.events) else spark.createDataFrame([], value_schema(spec))
        recent = recent_snapshot(events, spec)
        emit(PROGRESS_PREFIX, {"job": "score", "event": "recent-features", "features": [r.name for r in spec.model.recent], "rows_by_key": {by: t.count() for by, t in recent.items()}})
    read_kafka = kafka_reader(spark, spec.topic, "score", args.starting_offsets, args.max_offsets_per_trigger, real_time=(MESSAGES_QUERY,) if messages_trigger else ())
    sink = ("kafka", kafka_sink_options(spark.conf, spec.predictions_topic))
    totals, seconds = run_queries(spark, "score", spec.name, query_prefix(spec, "score"), lambda: start_score(read_kafka, model, version, spec, paths, trigger, sink, challenger, messages_trigger, recent), stop, real_time=messages_trigger is not None)
    return {
        "job": "score",
        "spec": spec.name,
        "model_version": version,
        **({"ab": {"version": challenger.version, "share": challenger.share, "seed": challenger.seed}} if challenger else {}),
        "predictions_kafka": totals.get("kafka", {}).get("output_rows", 0),
        "predictions_lake": totals.get("lake", {}).get("output_rows", 0),
        "queries": totals,
        "seconds": seconds,
        "predictions_topic": spec.predictions_topic,
        "predictions_path": paths.predictions,
    }


if __name__ == "__main__":
    sys.exit(run(main))
