"""What every job entrypoint shares: common arguments, the session, the result line, exit codes."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from typing import Any, Callable, Sequence

from pyspark.sql import SparkSession

from .kafka import KafkaConfError
from .models import ModelStoreError
from .spec import SpecError
from .streaming import emit

RESULT_PREFIX = "MILLRACE_RESULT "
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """A job's arguments cannot be used as given (a bad query, say): exit 2, like a bad spec."""


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--spec", required=True, help="pipeline spec as JSON (millrace submit converts the YAML)")
    return parser


def add_stream_args(parser: argparse.ArgumentParser, default_offsets: str) -> None:
    parser.add_argument("--trigger-seconds", type=float, default=5.0, help="micro-batch interval; 0 = as fast as possible (default 5)")
    parser.add_argument("--starting-offsets", choices=("earliest", "latest"), default=default_offsets,
                        help=f"where a query without a checkpoint starts (default {default_offsets})")
    parser.add_argument("--available-now", action="store_true", help="process what is in the topic now, then stop")
    parser.add_argument("--max-offsets-per-trigger", type=positive_int, default=None, help="cap on records per micro-batch")


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {text}")
    return value


def spark_session(app_name: str) -> SparkSession:
    # Event dates and hours are UTC whatever the node's time zone is.
    return SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC").getOrCreate()


def stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT set the returned event, so a streaming job stops its queries cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        print(f"received signal {signum}; stopping the queries", file=sys.stderr, flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run(job: Callable[[Sequence[str]], dict[str, Any] | None], argv: Sequence[str] | None = None) -> int:
    """Runs a job and maps its errors to exit codes: 0 done, 1 failure, 2 spec or usage. A job's
    result goes out as the last stdout line, `MILLRACE_RESULT {json}`; a result with
    "published": false (a model that lost to the baseline) exits 1 after printing it."""
    try:
        return _run(job, sys.argv[1:] if argv is None else argv)
    finally:
        _stop_session()


def _stop_session() -> None:
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def _run(job: Callable[[Sequence[str]], dict[str, Any] | None], argv: Sequence[str]) -> int:
    try:
        result = job(argv)
    except (SpecError, KafkaConfError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except ModelStoreError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception as err:  # noqa: BLE001 - the top-level handler: report, then a failing exit code
        traceback.print_exc(file=sys.stderr)
        print(f"error: {type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    if result is None:
        return EXIT_OK
    # Spark stopped first: the driver's JVM logs to the stdout that carries this line, in chunks of
    # the Python process's output, and a log line from one of its threads (INFO) once landed inside
    # a result of 71 KB (`report`), which its reader could then not parse.
    _stop_session()
    emit(RESULT_PREFIX, result)
    if result.get("published") is False:
        print("error: the model did not beat the mean-predictor baseline; it was saved, but `latest` was not moved to it",
              file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return EXIT_OK
