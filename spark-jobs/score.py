"""Streaming scoring: the latest model (or --model-version) applied to the topic's events.
Predictions go to the Kafka topic <topic>.predictions (keyed like the input) and to
<lake>/<name>/predictions/ (Parquet). Invalid records are skipped (ingest quarantines them).

Usage: millrace submit spark-jobs/score.py --spec flights.json [--available-now] [--trigger-seconds 5]
       [--starting-offsets latest|earliest] [--max-offsets-per-trigger N] [--model-version vYYYYMMDDTHHMMSSZ]
Stdout: MILLRACE_PROGRESS {json} per micro-batch; MILLRACE_RESULT {json} when the queries end.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from pyspark.ml import PipelineModel

from millrace_pipeline.cli import add_stream_args, base_parser, run, spark_session, stop_on_signals
from millrace_pipeline.kafka import kafka_sink_options
from millrace_pipeline.models import ModelStore, parse_pointer
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import query_prefix, start_score
from millrace_pipeline.spec import load_spec
from millrace_pipeline.storage import LakeFs
from millrace_pipeline.streaming import emit, kafka_reader, run_queries, trigger_options, PROGRESS_PREFIX


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("Score the topic's events with a trained model; predictions to Kafka and the lake")
    add_stream_args(parser, default_offsets="latest")
    parser.add_argument("--model-version", default=None, help="a version under models/ (default: the one `latest` names)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    trigger = trigger_options(args.trigger_seconds, args.available_now)
    stop = stop_on_signals()

    spark = spark_session(f"millrace-score-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)
    store = ModelStore(LakeFs(spark), paths)
    version = parse_pointer(args.model_version) if args.model_version else store.require_latest()
    model = PipelineModel.load(paths.model(version))
    emit(PROGRESS_PREFIX, {"job": "score", "event": "model-loaded", "model_version": version, "path": paths.model(version)})

    read_kafka = kafka_reader(spark, spec.topic, "score", args.starting_offsets, args.max_offsets_per_trigger)
    sink = ("kafka", kafka_sink_options(spark.conf, spec.predictions_topic))
    totals, seconds = run_queries(spark, "score", query_prefix(spec, "score"), lambda: start_score(read_kafka, model, version, spec, paths, trigger, sink), stop)
    return {
        "job": "score",
        "spec": spec.name,
        "model_version": version,
        "predictions_kafka": totals.get("kafka", {}).get("output_rows", 0),
        "predictions_lake": totals.get("lake", {}).get("output_rows", 0),
        "queries": totals,
        "seconds": seconds,
        "predictions_topic": spec.predictions_topic,
        "predictions_path": paths.predictions,
    }


if __name__ == "__main__":
    sys.exit(run(main))
