import json
import math

import pytest
from pyspark.ml import PipelineModel

from millrace_pipeline.features import build_pipeline, training_frame
from millrace_pipeline.models import ModelStore
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.queries import score_frame
from millrace_pipeline.scoring import kafka_messages, lake_predictions, prediction_columns, prediction_records
from millrace_pipeline.storage import LakeFs
from millrace_pipeline.transforms import enrich_events, parse_records, valid_events

from conftest import PRODUCED_AT_MS, flight, kafka_frame, synthetic_flights

VERSION = "v20261124T231500Z"


@pytest.fixture(scope="module")
def model(spark, flights):
    return build_pipeline(flights, "linear").fit(training_frame(synthetic_flights(spark, 300, seed=3), flights))


def test_one_prediction_per_valid_event_with_the_record_columns(spark, flights, model):
    values = [flight(event_id="a"), "not json", flight(event_id="b", origin="ORD"), flight(event_id="c", delay="x")]
    preds = score_frame(kafka_frame(spark, values), model, VERSION, flights)
    assert preds.columns == prediction_columns(flights) == [
        "_key", "event_id", "prediction", "model_version", "event_time", "produced_at", "scored_at", "delay",
        "kafka_partition", "kafka_offset",
    ]
    rows = sorted(preds.collect(), key=lambda r: r["event_id"])
    assert [r["event_id"] for r in rows] == ["a", "b"]
    assert all(isinstance(r["prediction"], float) and r["model_version"] == VERSION for r in rows)
    assert rows[1]["prediction"] > rows[0]["prediction"]  # ORD is the late airport in the synthetic data
    assert lake_predictions(preds).columns[0] == "kafka_key"


def test_kafka_messages_are_keyed_like_the_input_and_carry_produced_at(spark, flights, model):
    preds = score_frame(kafka_frame(spark, [flight()]), model, VERSION, flights)
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
    preds = prediction_records(df, flights, VERSION)
    msg = kafka_messages(preds, flights).first()
    assert json.loads(msg["value"])["prediction"] is None
    assert json.loads(msg["value"])["produced_at"] is None
    assert [h["key"] for h in msg["headers"]] == ["millrace-model-version"]


def test_a_saved_and_published_model_loads_back_and_scores_the_same(spark, flights, model, tmp_path):
    store = ModelStore(LakeFs(spark), LakePaths(f"file://{tmp_path}", "flights"))
    model.write().save(store.paths.model(VERSION))
    store.publish(VERSION, {"rmse": 1.0})
    loaded = PipelineModel.load(store.paths.model(store.require_latest()))
    events = enrich_events(valid_events(parse_records(kafka_frame(spark, [flight()]), flights), flights), flights)
    assert loaded.transform(events).first()["prediction"] == pytest.approx(model.transform(events).first()["prediction"])
    assert (tmp_path / "flights/models" / VERSION / "metrics.json").exists()
