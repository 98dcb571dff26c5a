"""Model versions under <lake>/<name>/models/: v<UTC timestamp>/{model/,metrics.json} and a `latest`
pointer, a one-line text file naming the newest complete version. The pointer is written last."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from .paths import LakePaths
from .storage import LakeFs

VERSION_RE = re.compile(r"^v\d{8}T\d{6}Z$")


class ModelStoreError(RuntimeError):
    pass


def version_name(now: datetime) -> str:
    """v20261124T231500Z for 2026-11-24 23:15:00 UTC."""
    if now.tzinfo is None:
        raise ValueError("version_name needs an aware datetime")
    return now.astimezone(timezone.utc).strftime("v%Y%m%dT%H%M%SZ")


def parse_pointer(text: str) -> str:
    version = text.strip()
    if not VERSION_RE.match(version):
        raise ModelStoreError(f"the latest pointer holds '{version[:60]}', not a version like v20261124T231500Z")
    return version


class ModelStore:
    def __init__(self, fs: LakeFs, paths: LakePaths):
        self.fs, self.paths = fs, paths

    def reserve(self, now: datetime) -> str:
        """A version name not yet used; refuses rather than overwrite an existing version."""
        version = version_name(now)
        if self.fs.exists(self.paths.model_version(version)):
            raise ModelStoreError(f"model version {self.paths.model_version(version)} already exists; wait a second and train again")
        return version

    def write_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        """Call after the model is saved under model(version)."""
        if not self.fs.exists(self.paths.model(version)):
            raise ModelStoreError(f"no saved model at {self.paths.model(version)}; not writing metrics for {version}")
        self.fs.write_text(self.paths.metrics(version), json.dumps(dict(metrics), indent=2, sort_keys=True) + "\n")

    def publish(self, version: str, metrics: Mapping[str, Any]) -> None:
        """Writes metrics.json beside the saved model, then points `latest` at the version."""
        self.write_metrics(version, metrics)
        self.fs.write_text(self.paths.latest_pointer, version + "\n")

    def latest(self) -> str | None:
        if not self.fs.exists(self.paths.latest_pointer):
            return None
        return parse_pointer(self.fs.read_text(self.paths.latest_pointer))

    def require_latest(self) -> str:
        version = self.latest()
        if version is None:
            raise ModelStoreError(f"no model yet: {self.paths.latest_pointer} does not exist; run train.py first")
        if not self.fs.exists(self.paths.model(version)):
            raise ModelStoreError(f"{self.paths.latest_pointer} names {version}, but {self.paths.model(version)} is missing")
        return version

    def metrics(self, version: str) -> dict[str, Any]:
        return json.loads(self.fs.read_text(self.paths.metrics(version)))
