import json

import pytest
from pyspark.sql.types import IntegerType, StringType, StructField, StructType, TimestampType

from millrace_pipeline.spec import Field, ModelSpec, RecentFeature, SpecError, load_spec, parse_spec, value_schema

from conftest import FLIGHTS_YAML


def test_flights_spec_is_read_from_the_example(flights):
    assert flights.name == "flights"
    assert flights.topic == "flights"
    assert flights.predictions_topic == "flights.predictions"
    assert flights.key == "origin"
    assert flights.id == "event_id"
    assert flights.event_time == "date"
    assert flights.fields[0] == Field("date", "timestamp", True)
    assert [f.name for f in flights.fields] == ["date", "delay", "distance", "origin", "destination"]
    recent = tuple(RecentFeature(f"{by}_delay_{h}h", by, h) for by in ("origin", "destination") for h in (1, 3))
    features = ("distance", "hour_of_day", "day_of_week", "origin", "destination", *(r.name for r in recent))
    assert flights.model == ModelSpec("delay", features, "gbt", False, recent)


def test_json_spec_from_the_cli_equals_the_yaml(flights, tmp_path):
    import yaml

    data = yaml.safe_load(FLIGHTS_YAML.read_text())
    # What the CLI adds: the derived topic names (any other unknown key is refused, as the CLI refuses it).
    data.update(dlqTopic="flights.dlq", predictionsTopic="flights.predictions")
    path = tmp_path / "flights.json"
    path.write_text(json.dumps(data))
    assert load_spec(str(path)) == flights


def test_value_schema_has_the_id_then_the_fields(flights):
    assert value_schema(flights) == StructType(
        [
            StructField("event_id", StringType(), False),
            StructField("date", TimestampType(), False),
            StructField("delay", IntegerType(), False),
            StructField("distance", IntegerType(), False),
            StructField("origin", StringType(), False),
            StructField("destination", StringType(), False),
        ]
    )


def test_a_declared_id_field_keeps_its_place_and_optional_fields_are_nullable():
    spec = parse_spec(
        {
            "name": "clicks", "topic": "clicks", "id": "click_id", "eventTime": "ts",
            "fields": [
                {"name": "click_id", "type": "string", "required": True},
                {"name": "ts", "type": "timestamp", "required": True},
                {"name": "score", "type": "double"},
            ],
        }
    )
    assert spec.model is None and spec.key is None
    assert [(f.name, f.dataType.simpleString(), f.nullable) for f in value_schema(spec).fields] == [
        ("click_id", "string", False), ("ts", "timestamp", False), ("score", "double", True)
    ]


def test_every_problem_is_reported_at_once_with_its_path():
    with pytest.raises(SpecError) as err:
        parse_spec(
            {
                "name": "Flights!", "id": "event_id", "key": "airport", "eventTime": "delay",
                "fields": [
                    {"name": "date", "type": "datetime", "required": True},
                    {"name": "delay", "type": "int", "required": "yes"},
                    {"name": "hour_of_day", "type": "int"},
                    {"name": "origin", "type": "string"},
                    {"name": "origin", "type": "string"},
                ],
                "model": {"label": "origin", "features": ["date", "weather", "origin"]},
            },
            source="bad.json",
        )
    assert err.value.problems == [
        "name: 'Flights!' must be lower-case letters, digits, '-' or '_' (it names lake paths)",
        "topic: is required",
        "fields[0].type: must be one of string, int, long, double, boolean, timestamp",
        "fields[1].required: must be true or false",
        "fields[2].name: 'hour_of_day' is a column name the jobs add",
        "fields[4].name: 'origin' is declared twice",
        "key: 'airport' is not one of fields",
        "eventTime: 'delay' is not one of fields",
        "model.label: field 'origin' must be numeric (int, long or double) for regression",
        "model.features[0]: 'date' is neither one of fields, one of hour_of_day, day_of_week, nor a model.recent name",
        "model.features[1]: 'weather' is neither one of fields, one of hour_of_day, day_of_week, nor a model.recent name",
        "model.features[2]: 'origin' is the label",
    ]
    assert str(err.value).startswith("invalid pipeline spec bad.json:\n  - name: ")


def test_event_time_must_be_a_required_timestamp_and_features_not_timestamps():
    with pytest.raises(SpecError) as err:
        parse_spec(
            {
                "name": "x", "topic": "x", "id": "id", "eventTime": "ts",
                "fields": [{"name": "ts", "type": "timestamp"}, {"name": "y", "type": "double", "required": True}],
                "model": {"label": "y", "features": ["ts"]},
            }
        )
    assert err.value.problems == [
        "eventTime: field 'ts' must be a required timestamp",
        "model.features[0]: timestamp field 'ts' cannot be a feature; use hour_of_day or day_of_week",
    ]


def test_a_spec_file_that_is_not_json_is_a_spec_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{name: flights")
    with pytest.raises(SpecError) as err:
        load_spec(str(path))
    assert err.value.problems[0].startswith("not valid JSON: ")
