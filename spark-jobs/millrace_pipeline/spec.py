"""The pipeline spec (examples/pipelines/*.yaml, handed to jobs as JSON by `millrace submit`).

One contract with the CLI (lib/pipeline-spec.ts): the same spec gets the same verdict, at the same
paths, from both; tests/fixtures/specs/ holds the shared cases (test_spec_contract.py here,
tests/unit/lib/spec-contract.test.ts there). Keys the CLI derives (dlqTopic, predictionsTopic) are
accepted; any other unknown key is a problem, as it is to the CLI. Every problem is reported at
once, with its dotted path.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from pyspark.sql.types import (
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

# Spec type -> Spark type of the parsed column.
FIELD_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "timestamp": TimestampType(),
}
NUMERIC_TYPES = frozenset({"int", "long", "double"})

# Columns ingest derives from eventTime; spec.model.features may name them.
DERIVED_FEATURES = ("hour_of_day", "day_of_week")
# model.recent: how far back a recent feature may look, in hours (a week).
MAX_RECENT_HOURS = 168
_RECENT_KEYS = frozenset({"name", "by", "hours"})
# The regressors train fits (lib/pipeline-spec.ts MODEL_ALGORITHMS).
MODEL_ALGORITHMS = ("linear", "gbt", "random_forest")
# Columns the jobs add; a spec field may not take one of these names.
RESERVED_COLUMNS = frozenset(
    {
        "event_time", "event_date", "event_month", "event_year", "hour_of_day", "day_of_week", "produced_at", "ingested_at",
        "kafka_partition", "kafka_offset", "kafka_timestamp", "kafka_key", "prediction", "model_version", "scored_at",
    }
)
# Names starting with '_' are left to the jobs' internal columns.
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SPEC_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Kafka's legal topic characters; 237 leaves room for the ".predictions" suffix within 249.
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,237}$")
_SPEC_KEYS = frozenset({"name", "topic", "key", "id", "eventTime", "fields", "model", "lakePartition"})
# How ingest partitions events/ (lakePartition), and the column it partitions by.
LAKE_PARTITIONS = {"day": "event_date", "month": "event_month", "year": "event_year"}
# What the CLI adds to the spec it passes as JSON.
_DERIVED_KEYS = frozenset({"dlqTopic", "predictionsTopic"})
# "from" names the source column for the producer; the jobs see the field by its name.
_FIELD_KEYS = frozenset({"name", "type", "required", "from"})


class SpecError(ValueError):
    """The spec is unusable. `issues` lists every problem found as (path, message), the path as the
    CLI writes it ("" for the spec's top level); `problems` as text."""

    def __init__(self, source: str, issues: Sequence[tuple[str, str]]):
        self.issues = list(issues)
        self.problems = [f"{path}: {message}" if path else message for path, message in self.issues]
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid pipeline spec {source}:\n{lines}")

    @property
    def paths(self) -> list[str]:
        return sorted(path for path, _ in self.issues)


def _unknown_keys(raw: Mapping[str, Any], known: frozenset[str], where: str, problems: list[tuple[str, str]]) -> None:
    for k in raw:
        if k not in known:
            problems.append((where, f"unknown key {json.dumps(str(k))}"))


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class RecentFeature:
    """A feature learned from the past: the mean label of the events with the same `by` value in the
    `hours` whole hours of event time before the event's own hour (features.recent_label_means)."""

    name: str
    by: str
    hours: int


@dataclass(frozen=True)
class ModelSpec:
    label: str
    features: tuple[str, ...]
    algorithm: str = "linear"
    tuning: bool = False
    recent: tuple[RecentFeature, ...] = ()

    def recent_feature(self, name: str) -> RecentFeature | None:
        return next((r for r in self.recent if r.name == name), None)


@dataclass(frozen=True)
class Spec:
    name: str
    topic: str
    key: str | None
    id: str
    event_time: str
    fields: tuple[Field, ...]
    model: ModelSpec | None
    lake_partition: str = "day"

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def predictions_topic(self) -> str:
        return f"{self.topic}.predictions"


def value_schema(spec: Spec) -> StructType:
    """The typed columns a valid record parses into: the id (string unless it is a declared field),
    then the declared fields in order."""
    cols = [] if spec.field(spec.id) else [StructField(spec.id, StringType(), False)]
    cols += [StructField(f.name, FIELD_TYPES[f.type], not f.required) for f in spec.fields]
    return StructType(cols)


def load_spec(path: str) -> Spec:
    """Reads a spec file: JSON (what the CLI passes), or YAML when PyYAML is importable (local use)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml  # only for local runs; cluster nodes get JSON and may lack PyYAML
        except ImportError as err:
            raise SpecError(path, [("", "YAML specs need PyYAML; pass the spec as JSON (millrace submit does)")]) from err
        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(path, [("", f"not valid JSON: {err}")]) from err
    return parse_spec(data, source=path)


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    problems: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise SpecError(source, [("", "the spec must be a mapping")])
    _unknown_keys(data, _SPEC_KEYS | _DERIVED_KEYS, "", problems)

    def text(key: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                problems.append((key, "is required"))
            return None
        if not isinstance(value, str) or not value:
            problems.append((key, "must be a non-empty string"))
            return None
        return value

    name = text("name")
    if name is not None and not _SPEC_NAME_RE.match(name):
        problems.append(("name", f"'{name}' must be lower-case letters, digits, '-' or '_' (it names lake paths)"))
    topic = text("topic")
    if topic is not None and not _TOPIC_RE.match(topic):
        problems.append(("topic", f"'{topic}' must be 1 to 237 of a-z, A-Z, 0-9, '.', '_', '-'"))
    key = text("key", required=False)
    id_field = text("id")
    event_time = text("eventTime")

    fields = _parse_fields(data.get("fields"), problems)
    by_name = {f.name: f for f in fields}
    if key is not None and key not in by_name:
        problems.append(("key", f"'{key}' is not one of fields"))
    if id_field is not None:
        if not _NAME_RE.match(id_field):
            problems.append(("id", f"must match {_NAME_RE.pattern}"))
        elif id_field in RESERVED_COLUMNS:
            problems.append(("id", f"'{id_field}' is a column name the jobs add"))
        elif id_field in by_name and by_name[id_field].type != "string":
            # The producer fills missing ids with text (<source>#<position>).
            problems.append(("id", f"field '{id_field}' must be a string, not {by_name[id_field].type}"))
    if event_time is not None:
        f = by_name.get(event_time)
        if f is None:
            problems.append(("eventTime", f"'{event_time}' is not one of fields"))
        elif f.type != "timestamp" or not f.required:
            problems.append(("eventTime", f"field '{event_time}' must be a required timestamp"))

    model = _parse_model(data.get("model"), by_name, problems)
    lake_partition = data.get("lakePartition", "day")
    if lake_partition not in LAKE_PARTITIONS:
        problems.append(("lakePartition", f"{lake_partition!r} is not one of {', '.join(LAKE_PARTITIONS)}"))
    if problems:
        raise SpecError(source, problems)
    assert name and topic and id_field and event_time  # narrowed by the checks above
    return Spec(name, topic, key, id_field, event_time, tuple(fields), model, str(lake_partition))


def _mappings(raw: list[Any], path: str, keys: frozenset[str], what: str, problems: list[tuple[str, str]]) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """(index, path, item) for each item of a list of mappings; an item that is not a mapping, and
    an unknown key, are problems."""
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            problems.append((where, f"must be a mapping with {what}"))
            continue
        _unknown_keys(item, keys, where, problems)
        yield i, where, item


def _parse_fields(raw: Any, problems: list[tuple[str, str]]) -> list[Field]:
    if not isinstance(raw, list) or not raw:
        problems.append(("fields", "must be a non-empty list"))
        return []
    fields: list[Field] = []
    seen: set[str] = set()
    for _, where, item in _mappings(raw, "fields", _FIELD_KEYS, "name and type", problems):
        name, ftype, required = item.get("name"), item.get("type"), item.get("required", False)
        ok = True
        if not isinstance(name, str) or not _NAME_RE.match(name):
            problems.append((f"{where}.name", f"must match {_NAME_RE.pattern}"))
            ok = False
        elif name in RESERVED_COLUMNS:
            problems.append((f"{where}.name", f"'{name}' is a column name the jobs add"))
            ok = False
        elif name in seen:
            problems.append((f"{where}.name", f"'{name}' is declared twice"))
            ok = False
        if ftype not in FIELD_TYPES:
            problems.append((f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}"))
            ok = False
        if not isinstance(required, bool):
            problems.append((f"{where}.required", "must be true or false"))
            ok = False
        source_column = item.get("from")
        if source_column is not None and (not isinstance(source_column, str) or not source_column):
            problems.append((f"{where}.from", "must name a column"))
            ok = False
        if ok:
            seen.add(name)
            fields.append(Field(name, ftype, required))
    return fields


def _parse_model(raw: Any, by_name: Mapping[str, Field], problems: list[tuple[str, str]]) -> ModelSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(("model", "must be a mapping with label and features"))
        return None
    label, features = raw.get("label"), raw.get("features")
    if not isinstance(label, str) or label not in by_name:
        problems.append(("model.label", "must name one of fields"))
    elif by_name[label].type not in NUMERIC_TYPES:
        problems.append(("model.label", f"field '{label}' must be numeric (int, long or double) for regression"))
    recent, recent_index = _parse_recent(raw.get("recent"), by_name, label, problems)
    recent_names = set(recent_index.values())
    if not isinstance(features, list) or not features:
        problems.append(("model.features", "must be a non-empty list"))
        return None
    seen: set[str] = set()
    for i, feat in enumerate(features):
        where = f"model.features[{i}]"
        if isinstance(feat, str) and feat in seen:
            problems.append((where, f"'{feat}' is listed twice"))
            continue
        seen.add(str(feat))
        f = by_name.get(feat) if isinstance(feat, str) else None
        if isinstance(feat, str) and (feat in DERIVED_FEATURES or feat in recent_names):
            continue
        if f is None:
            problems.append((where, f"'{feat}' is neither one of fields, one of {', '.join(DERIVED_FEATURES)}, nor a model.recent name"))
        elif f.type == "timestamp":
            problems.append((where, f"timestamp field '{feat}' cannot be a feature; use hour_of_day or day_of_week"))
        elif feat == label:
            problems.append((where, f"'{feat}' is the label"))
    algorithm = raw.get("algorithm", "linear")
    if algorithm not in MODEL_ALGORITHMS:
        problems.append(("model.algorithm", f"{algorithm!r} is not one of {', '.join(MODEL_ALGORITHMS)}"))
    tuning = raw.get("tuning", False)
    if not isinstance(tuning, bool):
        problems.append(("model.tuning", f"must be true or false, not {tuning!r}"))
    for i, name in recent_index.items():
        if name not in seen:
            problems.append((f"model.recent[{i}].name", f"'{name}' is not in model.features"))
    return ModelSpec(str(label), tuple(str(f) for f in features), str(algorithm), tuning is True, tuple(recent))


def _parse_recent(raw: Any, by_name: Mapping[str, Field], label: Any, problems: list[tuple[str, str]]) -> tuple[list[RecentFeature], dict[int, str]]:
    """model.recent: features that are the label's mean over the hours before each event, per value
    of a field (lib/pipeline-spec.ts recentSchema). Returns the valid entries, and the names that
    model.features may list (by position): those of entries whose name and `by` are sound. A bad
    `hours` is a problem of its own and leaves the name usable, as in the CLI (its schema checks
    `hours`; its cross-field rules still know the name)."""
    if raw is None:
        return [], {}
    if not isinstance(raw, list):
        problems.append(("model.recent", "must be a list of {name, by, hours}"))
        return [], {}
    recent: list[RecentFeature] = []
    names: dict[int, str] = {}
    seen: set[str] = set()
    for i, where, item in _mappings(raw, "model.recent", _RECENT_KEYS, "name, by and hours", problems):
        name, by, hours = item.get("name"), item.get("by"), item.get("hours")
        ok = True
        if not isinstance(name, str) or not _NAME_RE.match(name):
            problems.append((f"{where}.name", f"must match {_NAME_RE.pattern}"))
            ok = False
        elif name in RESERVED_COLUMNS or name in by_name or name in DERIVED_FEATURES:
            problems.append((f"{where}.name", f"'{name}' is already a column: a field, or one the jobs add"))
            ok = False
        elif name in seen:
            problems.append((f"{where}.name", f"'{name}' is declared twice"))
            ok = False
        if not isinstance(by, str) or by not in by_name:
            problems.append((f"{where}.by", "must name one of fields"))
            ok = False
        elif by_name[by].type in ("timestamp", "double") or by == label:
            problems.append((f"{where}.by", f"field '{by}' must be a string, int, long or boolean field other than the label"))
            ok = False
        if ok:
            seen.add(name)
            names[i] = name
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_RECENT_HOURS:
            problems.append((f"{where}.hours", f"must be a whole number of hours from 1 to {MAX_RECENT_HOURS}"))
        elif ok:
            recent.append(RecentFeature(name, by, hours))
    return recent, names
