from datetime import datetime, timedelta, timezone

import pytest

from millrace_pipeline.models import ModelStore, ModelStoreError, parse_pointer, version_name
from millrace_pipeline.paths import LakePaths
from millrace_pipeline.storage import LakeFs

NOW = datetime(2026, 11, 24, 23, 15, 0, tzinfo=timezone.utc)


def test_version_names_are_utc_timestamps():
    assert version_name(NOW) == "v20261124T231500Z"
    assert version_name(NOW.astimezone(timezone(timedelta(hours=2)))) == "v20261124T231500Z"
    with pytest.raises(ValueError):
        version_name(datetime(2026, 11, 24))


def test_pointer_text_is_checked():
    assert parse_pointer("v20261124T231500Z\n") == "v20261124T231500Z"
    with pytest.raises(ModelStoreError, match="the latest pointer holds '../other', not a version like v20261124T231500Z"):
        parse_pointer("../other")


@pytest.fixture
def store(spark, tmp_path):
    return ModelStore(LakeFs(spark), LakePaths(f"file://{tmp_path}", "flights"))


def save_fake_model(store, version):
    """The store only needs the directory; a real PipelineModel save is tested in the score tests."""
    (store.fs._fs(store.paths.model(version))).mkdirs(store.fs._path(store.paths.model(version)))


def test_latest_moves_only_when_a_saved_model_is_published(store, tmp_path):
    assert store.latest() is None
    with pytest.raises(ModelStoreError, match=r"no model yet: file://.*/flights/models/latest does not exist; run train.py first"):
        store.require_latest()
    first = store.reserve(NOW)
    with pytest.raises(ModelStoreError, match="no saved model at"):
        store.publish(first, {"rmse": 1.0})
    assert store.latest() is None

    save_fake_model(store, first)
    store.publish(first, {"rmse": 1.0})
    assert store.require_latest() == first
    assert store.metrics(first) == {"rmse": 1.0}
    assert (tmp_path / "flights/models/latest").read_text() == "v20261124T231500Z\n"

    later = store.reserve(NOW + timedelta(minutes=5))
    save_fake_model(store, later)
    store.write_metrics(later, {"rmse": 9.0})  # saved but not published: latest stays
    assert store.latest() == first
    store.publish(later, {"rmse": 0.5})
    assert store.latest() == "v20261124T232000Z"
    # Nothing but versions and the pointer: the temporary files were renamed away.
    assert store.fs.list_names(store.paths.models) == ["latest", "v20261124T231500Z", "v20261124T232000Z"]


def test_an_existing_version_is_never_overwritten(store):
    version = store.reserve(NOW)
    save_fake_model(store, version)
    with pytest.raises(ModelStoreError, match="already exists; wait a second and train again"):
        store.reserve(NOW)


def test_a_pointer_to_a_missing_model_is_an_error(store):
    store.fs.write_text(store.paths.latest_pointer, "v20200101T000000Z\n")
    with pytest.raises(ModelStoreError, match="names v20200101T000000Z, but .*/models/v20200101T000000Z/model is missing"):
        store.require_latest()
