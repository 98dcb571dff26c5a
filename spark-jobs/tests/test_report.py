"""The lake's figures for `millrace report` (millrace_pipeline/report.py)."""
from datetime import datetime, timezone

from millrace_pipeline.report import lake_growth, live_errors, model_summary, predictions_sample, quarantine_reasons


def ts(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=timezone.utc)


def test_lake_growth_per_day_with_the_running_total(spark):
    events = spark.createDataFrame([(ts(3),), (ts(3, 13),), (ts(4),), (ts(5),), (ts(5),), (ts(5),)], "ingested_at timestamp")
    assert lake_growth(events) == [
        {"day": "2026-12-03", "rows": 2, "total": 2},
        {"day": "2026-12-04", "rows": 1, "total": 3},
        {"day": "2026-12-05", "rows": 3, "total": 6},
    ]


def test_quarantine_reasons_most_frequent_first(spark):
    q = spark.createDataFrame([("value is not valid JSON",)] * 3 + [("field 'delay' must be int, got string",)] * 5 + [("x",)], "reason string")
    assert quarantine_reasons(q, top=2) == [{"reason": "field 'delay' must be int, got string", "count": 5}, {"reason": "value is not valid JSON", "count": 3}]


def test_predictions_against_actuals_only_where_the_label_is_known_and_the_same_sample_each_time(spark):
    rows = [(f"e{i}", "v1" if i % 2 else "v2", float(i) + 0.5, i if i % 5 else None) for i in range(40)]
    p = spark.createDataFrame(rows, "event_id string, model_version string, prediction double, delay int")
    sample = predictions_sample(p, "event_id", "delay", n=10)
    assert len(sample) == 10
    assert all(s["prediction"] == s["actual"] + 0.5 for s in sample)
    assert {s["model_version"] for s in sample} <= {"v1", "v2"}
    assert predictions_sample(p, "event_id", "delay", n=10) == sample
    assert len(predictions_sample(p, "event_id", "delay", n=1000)) == 32  # 8 of 40 have no label
    errors = {e["model_version"]: e for e in live_errors(p, "delay")}
    assert errors["v1"]["rmse"] == 0.5 and errors["v2"]["predictions"] == 16


def test_a_model_summary_says_whether_it_is_latest():
    m = {"rmse": 10.0, "baseline_rmse": 12.0, "r2": 0.3, "algorithm": "linear", "rows_train": 800, "extra": 1}
    s = model_summary("v20261205T100000Z", m, latest="v20261205T100000Z")
    assert (s["rmse"], s["baseline_rmse"], s["latest"], "extra" in s) == (10.0, 12.0, True, False)
    assert model_summary("v1", m, latest=None)["latest"] is False
