"""What `millrace report` draws from the lake (report_data.py gathers it): the lake's growth, the
quarantine's reasons, each model version's metrics, and predictions next to the actual labels.
Pure DataFrame work and plain data; the streaming figures come from Prometheus, not from here."""
from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .features import PREDICTION_COL
from .scoring import errors_by_version


def lake_growth(events: DataFrame) -> list[dict[str, Any]]:
    """Rows ingest wrote per UTC day (its batches' start), oldest first, with the running total."""
    rows = events.groupBy(F.to_date(F.col("ingested_at")).alias("day")).agg(F.count(F.lit(1)).alias("rows")).orderBy("day").collect()
    total, out = 0, []
    for r in rows:
        total += int(r["rows"])
        out.append({"day": str(r["day"]), "rows": int(r["rows"]), "total": total})
    return out


def quarantine_reasons(quarantine: DataFrame, top: int = 15) -> list[dict[str, Any]]:
    """The most frequent reasons records were quarantined, most frequent first."""
    rows = quarantine.groupBy("reason").agg(F.count(F.lit(1)).alias("count")).orderBy(F.col("count").desc(), F.col("reason")).limit(top).collect()
    return [{"reason": str(r["reason"]), "count": int(r["count"])} for r in rows]


METRIC_KEYS = ("rmse", "mae", "r2", "baseline_rmse", "algorithm", "rows_train", "rows_test")


def model_summary(version: str, metrics: dict[str, Any], latest: str | None) -> dict[str, Any]:
    """A model version's training metrics (metrics.json), and whether `latest` names it."""
    return {"version": version, **{k: metrics.get(k) for k in METRIC_KEYS}, "latest": version == latest}


def predictions_sample(predictions: DataFrame, id_col: str, label: str, n: int = 1000) -> list[dict[str, Any]]:
    """Up to n predictions whose event carried its label, the same ones on every run (by a hash of
    the id), with the model version that made each."""
    y = F.col(label).cast("double")
    rows = (
        predictions.where(y.isNotNull() & F.col(PREDICTION_COL).isNotNull())
        .select(F.col("model_version"), F.col(PREDICTION_COL).cast("double").alias("prediction"), y.alias("actual"), F.xxhash64(F.col(id_col)).alias("h"))
        .orderBy("h")
        .limit(n)
        .collect()
    )
    return [{"model_version": r["model_version"], "prediction": round(float(r["prediction"]), 4), "actual": float(r["actual"])} for r in rows]


def live_errors(predictions: DataFrame, label: str) -> list[dict[str, Any]]:
    """Each version's error on the events it scored (as compare_models.py gives it)."""
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in errors_by_version(predictions, label)]
