"""Where a pipeline's data lives in the lake. Pure: no file system access here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

LAKE_CONF = "spark.millrace.lake"
DEFAULT_LAKE = "/lake"


class ConfLike(Protocol):
    def get(self, key: str, default: str | None = None) -> str | None: ...


@dataclass(frozen=True)
class LakePaths:
    lake: str
    name: str

    @classmethod
    def from_conf(cls, conf: ConfLike, name: str) -> "LakePaths":
        return cls(conf.get(LAKE_CONF, DEFAULT_LAKE) or DEFAULT_LAKE, name)

    def _join(self, *parts: str) -> str:
        return "/".join([self.lake.rstrip("/"), *parts])

    @property
    def root(self) -> str:
        return self._join(self.name)

    @property
    def events(self) -> str:
        return self._join(self.name, "events")

    @property
    def quarantine(self) -> str:
        return self._join(self.name, "quarantine")

    @property
    def models(self) -> str:
        return self._join(self.name, "models")

    @property
    def latest_pointer(self) -> str:
        return self._join(self.name, "models", "latest")

    def model_version(self, version: str) -> str:
        return self._join(self.name, "models", version)

    def model(self, version: str) -> str:
        return self._join(self.name, "models", version, "model")

    def metrics(self, version: str) -> str:
        return self._join(self.name, "models", version, "metrics.json")

    @property
    def predictions(self) -> str:
        return self._join(self.name, "predictions")

    @property
    def quality(self) -> str:
        return self._join(self.name, "quality")

    def checkpoint(self, job: str, query: str) -> str:
        """One checkpoint per streaming query, under <lake>/_checkpoints/<name>-<job>/."""
        return self._join("_checkpoints", f"{self.name}-{job}", query)
