"""The streaming metrics file the node exporter reads (prometheus.py): its format, and what a query's
life does to it. The end-to-end run is in test_queries.py; the alerts on it run on the cluster (34-alerts)."""
import os
import re
import stat

import pytest

from millrace_pipeline.prometheus import METRICS, Batch, TextfileExporter, exporter_for, iso_seconds


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def samples(text: str) -> dict[str, float]:
    """'name{labels}' -> value, every sample line of a text exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


LABELS = 'pipeline="flights",spark_job="ingest",query="events"'


def test_a_batch_sets_rates_lag_latency_and_totals(tmp_path):
    clock = Clock(1_000.0)
    ex = TextfileExporter(str(tmp_path), "flights", "ingest", clock=clock)
    ex.started("events")
    clock.now = 1_010.0
    ex.batch("events", Batch(end=1_009.5, input_rows=100, output_rows=98, invalid_rows=2, input_rps=50.0, processed_rps=200.0, batch_seconds=0.5, behind=7, produced_min=1_005.5, produced_mean=1_007.0))
    s = samples(open(tmp_path / "streaming-flights-ingest.prom").read())
    assert s[f"millrace_streaming_up{{{LABELS}}}"] == 1
    assert s[f"millrace_streaming_heartbeat_timestamp_seconds{{{LABELS}}}"] == 1_010.0
    assert s[f"millrace_streaming_last_output_timestamp_seconds{{{LABELS}}}"] == 1_009.5
    assert s[f"millrace_streaming_offsets_behind_latest{{{LABELS}}}"] == 7
    assert s[f'millrace_streaming_latency_seconds{{{LABELS},stat="max"}}'] == 4.0
    assert s[f'millrace_streaming_latency_seconds{{{LABELS},stat="mean"}}'] == 2.5
    assert s[f"millrace_streaming_output_rows_total{{{LABELS}}}"] == 98
    assert s[f"millrace_streaming_invalid_rows_total{{{LABELS}}}"] == 2
    assert s[f"millrace_streaming_input_rows_per_second{{{LABELS}}}"] == 50.0


def test_every_metric_has_one_help_and_type_and_the_file_is_world_readable(tmp_path):
    ex = TextfileExporter(str(tmp_path), "flights", "score")
    ex.started("kafka")
    ex.started("lake")
    text = open(ex.path).read()
    for name in re.findall(r"^(millrace_\w+)\{", text, re.M):
        assert name in METRICS
        assert text.count(f"# HELP {name} ") == 1 and text.count(f"# TYPE {name} ") == 1
    assert 'query="kafka"' in text and 'query="lake"' in text
    assert stat.S_IMODE(os.stat(ex.path).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["streaming-flights-score.prom"]  # no temporary file left


def test_before_any_output_the_lake_freshness_counts_from_the_start_and_no_latency_is_made_up(tmp_path):
    clock = Clock(500.0)
    ex = TextfileExporter(str(tmp_path), "flights", "ingest", clock=clock)
    ex.started("events")
    ex.batch("events", Batch(end=510.0, input_rows=0, output_rows=0, invalid_rows=0, input_rps=0.0, processed_rps=0.0, batch_seconds=0.1, behind=0))
    s = samples(open(ex.path).read())
    assert s[f"millrace_streaming_last_output_timestamp_seconds{{{LABELS}}}"] == 500.0
    assert s[f"millrace_streaming_last_progress_timestamp_seconds{{{LABELS}}}"] == 510.0
    assert not any(k.startswith("millrace_streaming_latency_seconds") for k in s)


def test_idle_means_caught_up(tmp_path):
    ex = TextfileExporter(str(tmp_path), "flights", "ingest")
    ex.batch("events", Batch(end=1.0, input_rows=10, output_rows=10, invalid_rows=0, input_rps=5.0, processed_rps=9.0, batch_seconds=1.0, behind=3))
    ex.idle("events")
    s = samples(open(ex.path).read())
    assert s[f"millrace_streaming_offsets_behind_latest{{{LABELS}}}"] == 0
    assert s[f"millrace_streaming_input_rows_per_second{{{LABELS}}}"] == 0
    assert s[f"millrace_streaming_output_rows_total{{{LABELS}}}"] == 10


def test_a_clean_stop_removes_the_file_and_a_failure_leaves_it_down(tmp_path):
    ok = TextfileExporter(str(tmp_path), "flights", "ingest", heartbeat_seconds=0.05).start()
    ok.started("events")
    ok.close(clean=True)
    assert not os.path.exists(ok.path)

    failed = TextfileExporter(str(tmp_path), "flights", "score", heartbeat_seconds=0.05).start()
    failed.started("kafka")
    failed.started("lake")
    failed.terminated("kafka", failed=True)
    assert samples(open(failed.path).read())['millrace_streaming_up{pipeline="flights",spark_job="score",query="lake"}'] == 1
    failed.close(clean=False)
    s = samples(open(failed.path).read())
    assert s['millrace_streaming_up{pipeline="flights",spark_job="score",query="kafka"}'] == 0
    assert s['millrace_streaming_up{pipeline="flights",spark_job="score",query="lake"}'] == 0


def test_the_heartbeat_moves_while_the_driver_lives(tmp_path):
    clock = Clock(100.0)
    ex = TextfileExporter(str(tmp_path), "flights", "ingest", clock=clock, heartbeat_seconds=0.05).start()
    ex.started("events")
    clock.now = 200.0
    import time

    deadline = time.monotonic() + 5
    while samples(open(ex.path).read())[f"millrace_streaming_heartbeat_timestamp_seconds{{{LABELS}}}"] != 200.0:
        assert time.monotonic() < deadline, "the heartbeat did not rewrite the file"
        time.sleep(0.05)
    ex.close(clean=True)


def test_no_directory_or_an_unwritable_one_means_no_exporter(tmp_path, capsys):
    assert exporter_for(None, "flights", "ingest") is None
    assert exporter_for(str(tmp_path / "missing"), "flights", "ingest") is None
    assert "cannot write to" in capsys.readouterr().err


def test_iso_seconds():
    assert iso_seconds("1970-01-01T00:01:40.500Z") == pytest.approx(100.5)


def test_a_failed_write_costs_the_metrics_not_the_job(tmp_path, capsys):
    directory = tmp_path / "textfile"
    directory.mkdir()
    ex = TextfileExporter(str(directory), "flights", "ingest")
    ex.started("events")
    directory.rename(tmp_path / "gone")
    ex.batch("events", Batch(end=1.0, input_rows=1, output_rows=1, invalid_rows=0, input_rps=1.0, processed_rps=1.0, batch_seconds=0.1, behind=0))
    ex.idle("events")
    assert capsys.readouterr().err.count("cannot write") == 1
