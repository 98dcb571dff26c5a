"""Streaming ingest: Kafka topic -> validated, enriched events in <lake>/<name>/events/ (Parquet,
partitioned by event_date); records that fail validation -> <lake>/<name>/quarantine/ with a reason.

Usage: millrace submit spark-jobs/ingest.py --spec flights.json [--available-now] [--trigger-seconds 5]
       [--starting-offsets earliest|latest] [--max-offsets-per-trigger N]
Stdout: MILLRACE_PROGRESS {json} per micro-batch; MILLRACE_RESULT {json} when the queries end.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from millrace_pipeline.cli import add_stream_args, base_parser, run, spark_session, stop_on_signals
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import query_prefix, start_ingest
from millrace_pipeline.spec import load_spec
from millrace_pipeline.streaming import kafka_reader, run_queries, trigger_options


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("Kafka -> validated, enriched Parquet events in the lake")
    add_stream_args(parser, default_offsets="earliest")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    trigger = trigger_options(args.trigger_seconds, args.available_now)
    stop = stop_on_signals()

    spark = spark_session(f"millrace-ingest-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)

    read_kafka = kafka_reader(spark, spec.topic, "ingest", args.starting_offsets, args.max_offsets_per_trigger)
    totals, seconds = run_queries(spark, "ingest", spec.name, query_prefix(spec, "ingest"), lambda: start_ingest(read_kafka, spec, paths, trigger), stop)
    return {
        "job": "ingest",
        "spec": spec.name,
        "events_written": totals.get("events", {}).get("output_rows", 0),
        "quarantined": totals.get("quarantine", {}).get("output_rows", 0),
        "records_read": totals.get("events", {}).get("input_rows", 0),
        "queries": totals,
        "seconds": seconds,
        "events_path": paths.events,
        "quarantine_path": paths.quarantine,
    }


if __name__ == "__main__":
    sys.exit(run(main))
