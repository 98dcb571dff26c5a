import json
import math

import pytest
from pyspark.ml import PipelineModel
from pyspark.sql import functions as F

from millrace_pipeline.features import build_pipeline, recent_snapshot, training_frame, with_recent
from millrace_pipeline.models import ModelStore
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import Challenger, score_frame
from millrace_pipeline.scoring import errors_by_version, kafka_messages, lake_predictions, prediction_columns, prediction_records
from millrace_pipeline.storage import LakeFs
from millrace_pipeline.transforms import enrich_events, parse_records, valid_events

from conftest import PRODUCED_AT_MS, flight, kafka_frame, synthetic_flights

VERSION = "v20261124T231500Z"


@pytest.fixture(scope="module")
def recent(spark, flights):
    """The example spec's recent features, as score takes them from the lake when it starts."""
    return recent_snapshot(synthetic_flights(spark, 300, seed=3), flights)


@pytest.fixture(scope="module")
def model(spark, flights):
    return build_pipeline(flights, "linear").fit(training_frame(synthetic_flights(spark, 300, seed=3), flights))


def test_one_prediction_per_valid_event_with_the_record_columns(spark, flights, model, recent):
    values = [flight(event_id="a"), "not json", flight(event_id="b", origin="ORD"), flight(event_id="c", delay="x")]
    preds = score_frame(kafka_frame(spark, values), model, VERSION, flights, recent=recent)
    assert preds.columns == prediction_columns(flights) == [
        "_key", "event_id", "prediction", "model_version", "event_time", "produced_at", "scored_at", "delay",
        "kafka_partition", "kafka_offset",
    ]
    rows = sorted(preds.collect(), key=lambda r: r["event_id"])
    assert [r["event_id"] for r in rows] == ["a", "b"]
    assert all(isinstance(r["prediction"], float) and r["model_version"] == VERSION for r in rows)
    assert rows[1]["prediction"] > rows[0]["prediction"]  # ORD is the late airport in the synthetic data
    assert lake_predictions(preds).columns[0] == "kafka_key"


def test_kafka_messages_are_keyed_like_the_input_and_carry_produced_at(spark, flights, model, recent):
    preds = score_frame(kafka_frame(spark, [flight()]), model, VERSION, flights, recent=recent)
    msg = kafka_messages(preds, flights).first()
    assert msg["key"] == "MCI"
    value = json.loads(msg["value"])
    assert set(value) == {"event_id", "prediction", "model_version", "event_time", "produced_at", "scored_at", "delay"}
    assert value["event_id"] == "flights-3m.parquet:0"
    assert value["model_version"] == VERSION
    assert value["event_time"] == "2001-01-14T21:45:00.000Z"
    assert value["produced_at"] == "2025-11-24T23:15:00.123Z"
    assert value["delay"] == 14
    assert math.isfinite(value["prediction"])
    assert [(h["key"], bytes(h["value"]).decode()) for h in msg["headers"]] == [
        ("millrace-produced-at", str(PRODUCED_AT_MS)),
        ("millrace-model-version", VERSION),
    ]


def test_a_nan_prediction_becomes_null_and_a_missing_header_is_left_out(spark, flights):
    df = spark.createDataFrame(
        [("k", "id1", float("nan"), None, None, 3, 0, 0)],
        "_key string, event_id string, prediction double, event_time timestamp, produced_at timestamp, delay int, "
        "kafka_partition int, kafka_offset long",
    )
    preds = prediction_records(df, flights, F.lit(VERSION))
    msg = kafka_messages(preds, flights).first()
    assert json.loads(msg["value"])["prediction"] is None
    assert json.loads(msg["value"])["produced_at"] is None
    assert [h["key"] for h in msg["headers"]] == ["millrace-model-version"]


def test_a_saved_and_published_model_loads_back_and_scores_the_same(spark, flights, model, recent, tmp_path):
    store = ModelStore(LakeFs(spark), LakePaths(f"file://{tmp_path}", "flights"))
    model.write().save(store.paths.model(VERSION))
    store.publish(VERSION, {"rmse": 1.0})
    loaded = PipelineModel.load(store.paths.model(store.require_latest()))
    events = with_recent(enrich_events(valid_events(parse_records(kafka_frame(spark, [flight()]), flights), flights), flights), recent, flights)
    # The saved model keeps the imputed means of the recent features, learned in training.
    assert [type(s).__name__ for s in loaded.stages][0] == "ImputerModel"
    assert loaded.transform(events).first()["prediction"] == pytest.approx(model.transform(events).first()["prediction"])
    assert (tmp_path / "flights/models" / VERSION / "metrics.json").exists()


B_VERSION = "v20261205T010000Z"


@pytest.fixture(scope="module")
def challenger_model(spark, flights):
    return build_pipeline(flights, "random_forest").fit(training_frame(synthetic_flights(spark, 300, seed=4), flights))


def test_ab_each_event_gets_one_prediction_from_the_version_its_id_hashes_to(spark, flights, model, challenger_model, recent):
    values = [flight(event_id=f"ab#{i}", origin=["ORD", "ATL", "SFO", "LAS"][i % 4], distance=200 + 7 * i) for i in range(1000)]
    challenger = Challenger(B_VERSION, challenger_model, share=0.3, seed=0)
    preds = score_frame(kafka_frame(spark, values), model, VERSION, flights, challenger, recent)
    assert preds.columns == prediction_columns(flights)
    rows = {r["event_id"]: r for r in preds.collect()}
    assert len(rows) == 1000 and preds.count() == 1000
    to_b = {i for i, r in rows.items() if r["model_version"] == B_VERSION}
    assert {r["model_version"] for r in rows.values()} == {VERSION, B_VERSION}
    assert 240 <= len(to_b) <= 360
    # Each prediction is its own version's: the same as that model alone gives the event.
    alone_a = {r["event_id"]: r["prediction"] for r in score_frame(kafka_frame(spark, values), model, VERSION, flights, recent=recent).collect()}
    alone_b = {r["event_id"]: r["prediction"] for r in score_frame(kafka_frame(spark, values), challenger_model, B_VERSION, flights, recent=recent).collect()}
    for i, r in rows.items():
        assert r["prediction"] == pytest.approx((alone_b if i in to_b else alone_a)[i])
    # The split is by id alone: another batch of some of the same events splits them the same way,
    # and another seed splits them differently.
    again = score_frame(kafka_frame(spark, values[::3]), model, VERSION, flights, challenger, recent).collect()
    assert {r["event_id"] for r in again if r["model_version"] == B_VERSION} == {f"ab#{i}" for i in range(0, 1000, 3)} & to_b
    reseeded = score_frame(kafka_frame(spark, values), model, VERSION, flights, Challenger(B_VERSION, challenger_model, 0.3, seed=1), recent).collect()
    assert {r["event_id"] for r in reseeded if r["model_version"] == B_VERSION} != to_b


def test_errors_by_version_on_known_values(spark):
    df = spark.createDataFrame(
        [("a", 10.0, 12, "vA"), ("b", 20.0, 16, "vA"), ("c", 5.0, 5, "vB"), ("d", 7.0, None, "vB"), ("e", None, 3, "vB")],
        "event_id string, prediction double, delay int, model_version string",
    )
    assert errors_by_version(df, "delay") == [
        {"model_version": "vA", "predictions": 2, "rmse": 3.1623, "mae": 3.0, "mean_prediction": 15.0},
        {"model_version": "vB", "predictions": 1, "rmse": 0.0, "mae": 0.0, "mean_prediction": 5.0},
    ]
