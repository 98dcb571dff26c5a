"""One spec contract (issue 16): every fixture in tests/fixtures/specs gets the verdict its first
line states from the Spark jobs' validator, as tests/unit/lib/spec-contract.test.ts checks the
CLI's against the same files. The jobs get the spec as JSON from the CLI (with its derived topic
names), so that is the form parsed here too.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from millrace_pipeline.spec import SpecError, parse_spec

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "specs"
TOP = "(top level)"
FILES = sorted(FIXTURES.glob("*.yaml"))


def expected(text: str, name: str) -> str | list[str]:
    m = re.match(r"^# expect: (valid|invalid at (.+))$", text.split("\n")[0])
    if not m:
        raise AssertionError(f'{name}: the first line must be "# expect: valid" or "# expect: invalid at <path>, …"')
    return "valid" if m.group(1) == "valid" else sorted("" if p.strip() == TOP else p.strip() for p in m.group(2).split(","))


def as_the_cli_passes_it(doc: dict) -> dict:
    """What `millrace submit` writes to spec.json: the spec with its derived topic names (JSON round trip)."""
    topic = doc.get("topic")
    derived = {"dlqTopic": f"{topic}.dlq", "predictionsTopic": f"{topic}.predictions"} if isinstance(topic, str) else {}
    return json.loads(json.dumps({**doc, **derived}, default=str))


def verdict(text: str, name: str) -> str | list[str]:
    doc = yaml.safe_load(text)
    try:
        parse_spec(as_the_cli_passes_it(doc) if isinstance(doc, dict) else doc, source=name)
        return "valid"
    except SpecError as err:
        return err.paths


def test_the_fixtures_cover_both_verdicts():
    verdicts = [expected(f.read_text(encoding="utf-8"), f.name) for f in FILES]
    assert sum(v == "valid" for v in verdicts) >= 3
    assert sum(v != "valid" for v in verdicts) >= 20


@pytest.mark.parametrize("fixture", FILES, ids=[f.name for f in FILES])
def test_the_jobs_give_each_shared_fixture_its_stated_verdict(fixture: Path):
    text = fixture.read_text(encoding="utf-8")
    assert verdict(text, fixture.name) == expected(text, fixture.name)


def test_control_an_unknown_key_the_cli_does_not_add_is_refused_as_the_cli_refuses_it():
    doc = yaml.safe_load((FIXTURES / "valid-minimal.yaml").read_text(encoding="utf-8"))
    parse_spec(as_the_cli_passes_it(doc))
    with pytest.raises(SpecError) as err:
        parse_spec({**as_the_cli_passes_it(doc), "dlq_topic": "x"})
    assert err.value.problems == ['unknown key "dlq_topic"']
