"""Streaming ingest: Kafka topic -> validated, enriched events in <lake>/<name>/events/ (Parquet,
partitioned by event_date); records that fail validation -> <lake>/<name>/quarantine/ with a reason.

Usage: millrace submit spark-jobs/ingest.py --spec flights.json [--available-now] [--trigger-seconds 5]
       [--starting-offsets earliest|latest] [--max-offsets-per-trigger N]
Stdout: MILLRACE_PROGRESS {json} per micro-batch; MILLRACE_RESULT {json} when the queries end.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from millrace_pipeline.cli import add_stream_args, base_parser, run, spark_session, stop_on_signals
from millrace_pipeline.kafka import kafka_source_options
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import query_prefix, start_ingest
from millrace_pipeline.spec import load_spec
from millrace_pipeline.streaming import await_queries, start_listener, trigger_options


def main(argv: Sequence[str]) -> dict[str, Any]:
    parser = base_parser("Kafka -> validated, enriched Parquet events in the lake")
    add_stream_args(parser, default_offsets="earliest")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    trigger = trigger_options(args.trigger_seconds, args.available_now)
    stop = stop_on_signals()

    spark = spark_session(f"millrace-ingest-{spec.name}")
    paths = LakePaths.from_conf(spark.conf, spec.name)

    def read_kafka(query: str):
        opts = kafka_source_options(spark.conf, spec.topic, f"pipeline-ingest-{query}", args.starting_offsets, args.max_offsets_per_trigger)
        return spark.readStream.format("kafka").options(**opts).load()

    printer = start_listener(spark, "ingest", query_prefix(spec, "ingest"))
    try:
        started = time.monotonic()
        queries = start_ingest(read_kafka, spec, paths, trigger)
        await_queries(queries, stop)
        printer.wait_for_termination_events(queries)
    finally:
        # Before the session goes: a listener called during shutdown fails noisily over py4j.
        spark.streams.removeListener(printer)
    totals = printer.summary()
    return {
        "job": "ingest",
        "spec": spec.name,
        "events_written": totals.get("events", {}).get("output_rows", 0),
        "quarantined": totals.get("quarantine", {}).get("output_rows", 0),
        "records_read": totals.get("events", {}).get("input_rows", 0),
        "queries": totals,
        "seconds": round(time.monotonic() - started, 1),
        "events_path": paths.events,
        "quarantine_path": paths.quarantine,
    }


if __name__ == "__main__":
    sys.exit(run(main))
