"""A local SparkSession shared by the whole run, and helpers that build Kafka-shaped rows."""
from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pytest

# Collected timestamps become naive datetimes in the Python process's zone; make that UTC too.
os.environ["TZ"] = "UTC"
time.tzset()

from pyspark.sql import DataFrame, SparkSession  # noqa: E402

from millrace_pipeline.spec import Spec, load_spec  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FLIGHTS_YAML = REPO / "examples" / "pipelines" / "flights.yaml"
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
    "timestampType int, headers array<struct<key: string, value: binary>>"
)
PRODUCED_AT_MS = 1764026100123  # 2025-11-24T23:15:00.123Z


@pytest.fixture(scope="session")
def spark() -> Iterable[SparkSession]:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("millrace-pipeline-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # A short-lived JVM: the C1 compiler warms up much faster, and tiny data never needs C2.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def flights() -> Spec:
    return load_spec(str(FLIGHTS_YAML))


DROP = object()


def flight(**overrides: Any) -> dict[str, Any]:
    """A valid flights record as the producer sends it; overrides replace keys, or drop them (DROP)."""
    record: dict[str, Any] = {
        "event_id": "flights-3m.parquet:0",
        "date": "2001-01-14T21:45:00.000Z",
        "delay": 14,
        "distance": 405,
        "origin": "MCI",
        "destination": "MDW",
    }
    for k, v in overrides.items():
        if v is DROP:
            record.pop(k, None)
        else:
            record[k] = v
    return record


def kafka_row(
    value: Any, offset: int = 0, key: str | None = "MCI", produced_at_ms: int = PRODUCED_AT_MS, partition: int = 0, produced_at_header: int | None = None
) -> tuple:
    """One row as the Kafka source gives it, as `millrace produce` writes it: the production time is
    the record's timestamp, and there are no headers. `produced_at_header` adds the header that older
    millrace producers wrote. `value` is a dict (sent as JSON), a str (sent as is) or None."""
    raw = json.dumps(value) if isinstance(value, dict) else value
    headers = [] if produced_at_header is None else [("millrace-produced-at", str(produced_at_header).encode())]
    return (
        key.encode() if key is not None else None,
        raw.encode() if raw is not None else None,
        "flights",
        partition,
        offset,
        datetime.fromtimestamp(produced_at_ms / 1000, tz=timezone.utc),
        0,
        headers,
    )


def kafka_frame(spark: SparkSession, values: Iterable[Any]) -> DataFrame:
    return spark.createDataFrame([kafka_row(v, offset=i) for i, v in enumerate(values)], KAFKA_SCHEMA)


def synthetic_flights(spark, n, seed):
    """Delay depends on the origin, the hour and the distance, plus noise; the events fall on one day
    (2001-01-14, the day flight() is from), in their hour_of_day."""
    rng = random.Random(seed)
    origin_effect = {"ORD": 25.0, "ATL": 5.0, "SFO": -5.0, "LAS": 0.0}
    rows = []
    for _ in range(n):
        origin, hour = rng.choice(list(origin_effect)), rng.randrange(24)
        distance = rng.randrange(100, 2500)
        delay = origin_effect[origin] + (15.0 if hour >= 17 else 0.0) + distance / 250 + rng.gauss(0, 6)
        date = datetime(2001, 1, 14, hour, rng.randrange(60))
        rows.append((int(delay), distance, hour, rng.randint(1, 7), origin, rng.choice(["JFK", "DEN"]), date))
    return spark.createDataFrame(rows, "delay int, distance int, hour_of_day int, day_of_week int, origin string, destination string, date timestamp")
