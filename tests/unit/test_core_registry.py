import pytest

from functions.core import registry
from functions.core.errors import (
    AliasNotFound,
    Forbidden,
    InvalidInput,
    ModelExists,
    ModelNotFound,
    VersionConflict,
    VersionNotFound,
)
from functions.core.models import NewModel, NewVersion, VersionStatus, system_actor
from functions.core.ports import Context
from tests.unit.conftest import ctx_for

SHA = "ab" * 32


def publish(deps, ctx, name="churn", **kw):
    kw.setdefault("sha256", SHA)
    kw.setdefault("size", 10)
    return registry.publish_version(deps, ctx, name, NewVersion(**kw))


def test_create_get_and_duplicate(deps, publisher, churn):
    assert registry.get_model(deps, publisher, "churn").model_dump(exclude={"revalidation_overdue"}) == churn.model_dump()
    with pytest.raises(ModelExists, match="churn"):
        registry.create_model(deps, publisher, NewModel(name="churn", owner="x", framework="onnx"))
    with pytest.raises(ModelNotFound, match="nope"):
        registry.get_model(deps, publisher, "nope")


def test_reserved_and_bad_names_are_refused():
    with pytest.raises(ValueError, match="reserved"):
        NewModel(name="platform", owner="x", framework="onnx")
    with pytest.raises(ValueError):
        NewModel(name="Bad_Name", owner="x", framework="onnx")


def test_consumers_cannot_create_and_patterns_are_enforced(deps):
    with pytest.raises(Forbidden, match="publisher"):
        registry.create_model(deps, ctx_for("consumer"), NewModel(name="a", owner="x", framework="onnx"))
    with pytest.raises(Forbidden, match="cover 'fraud'"):
        registry.create_model(
            deps, ctx_for("publisher", patterns=("churn*",)), NewModel(name="fraud", owner="x", framework="onnx")
        )


def test_publish_explicit_and_bumps(deps, publisher, churn):
    first = publish(deps, publisher, bump="minor")
    assert first.version.version == "0.1.0"
    assert first.upload.headers["x-amz-checksum-sha256"] == SHA
    assert first.version.status is VersionStatus.registered
    assert first.version.artifact.uri.endswith("/churn/0.1.0/model.tar.gz")
    assert publish(deps, publisher, version="2.3.4").version.version == "2.3.4"
    assert publish(deps, publisher, bump="patch").version.version == "2.3.5"
    assert publish(deps, publisher, version="1.0.0").version.version == "1.0.0"
    # latest stays the highest version even after publishing a lower one
    assert publish(deps, publisher, bump="major").version.version == "3.0.0"
    assert registry.get_model(deps, publisher, "churn").version_count == 5
    assert deps.events.sent[0] == (
        "Version Registered",
        {"model": "churn", "version": "0.1.0", "by": publisher.actor.id, "artifact": first.version.artifact.uri},
    )


def test_publish_is_one_read_and_one_transaction(deps, publisher, churn):
    deps.store.requests.clear()
    publish(deps, publisher, bump="patch")
    assert deps.store.requests == ["get", "transact"]


def test_republishing_is_a_conflict_never_an_overwrite(deps, publisher, churn):
    publish(deps, publisher, version="1.0.0", metrics={"auc": 0.9})
    with pytest.raises(VersionConflict, match="1.0.0 already exists"):
        publish(deps, publisher, version="1.0.0", metrics={"auc": 0.1})
    assert registry.resolve(deps, publisher, "churn", "1.0.0").metrics == {"auc": 0.9}


def test_publish_needs_version_xor_bump():
    with pytest.raises(ValueError, match="exactly one"):
        NewVersion(sha256=SHA, size=1)
    with pytest.raises(ValueError, match="exactly one"):
        NewVersion(version="1.0.0", bump="patch", sha256=SHA, size=1)


def test_only_system_registers_existing_artifacts(deps, publisher, churn):
    with pytest.raises(Forbidden):
        registry.publish_version(deps, publisher, "churn", NewVersion(bump="patch", sha256=SHA, size=1), artifact_uri="s3://x/y")
    system = Context(actor=system_actor("retrain"), request_id="r")
    done = registry.publish_version(
        deps, system, "churn", NewVersion(bump="patch", sha256=SHA, size=1), artifact_uri="s3://a/training/j/model.tar.gz"
    )
    assert done.upload is None and done.version.artifact.uri == "s3://a/training/j/model.tar.gz"


def test_resolve_forms(deps, publisher, churn):
    for v in ["1.0.0", "1.2.0", "1.10.3", "2.0.0", "10.0.0"]:
        publish(deps, publisher, version=v)
    assert registry.resolve(deps, publisher, "churn", "latest").version == "10.0.0"
    assert registry.resolve(deps, publisher, "churn", "1.x").version == "1.10.3"
    assert registry.resolve(deps, publisher, "churn", "1.2.x").version == "1.2.0"
    assert registry.resolve(deps, publisher, "churn", "1.2.0").version == "1.2.0"
    with pytest.raises(VersionNotFound, match="3.x"):
        registry.resolve(deps, publisher, "churn", "3.x")
    with pytest.raises(AliasNotFound, match="staging"):
        registry.resolve(deps, publisher, "churn", "staging")
    with pytest.raises(ModelNotFound):
        registry.resolve(deps, publisher, "ghost", "latest")
    with pytest.raises(InvalidInput, match="not a version spec"):
        registry.resolve(deps, publisher, "churn", "1.2")
    deps.store.requests.clear()
    registry.resolve(deps, publisher, "churn", "1.x")
    assert deps.store.requests == ["query"]


def test_list_versions_newest_first_and_paginated(deps, publisher, churn):
    for v in ["0.0.1", "0.0.2", "0.1.0", "1.0.0", "0.0.10"]:
        publish(deps, publisher, version=v)
    page = registry.list_versions(deps, publisher, "churn", limit=2)
    assert [v.version for v in page.items] == ["1.0.0", "0.1.0"]
    page2 = registry.list_versions(deps, publisher, "churn", limit=2, cursor=page.cursor)
    page3 = registry.list_versions(deps, publisher, "churn", limit=2, cursor=page2.cursor)
    assert [v.version for v in page2.items + page3.items] == ["0.0.10", "0.0.2", "0.0.1"]
    assert page3.cursor is None
    with pytest.raises(ModelNotFound):
        registry.list_versions(deps, publisher, "ghost")


def test_list_models_filters_by_pattern(deps, publisher):
    for name in ["churn", "churn-eu", "fraud"]:
        registry.create_model(deps, publisher, NewModel(name=name, owner="x", framework="onnx"))
    names = [m.name for m in registry.list_models(deps, ctx_for("consumer", patterns=("churn*",))).items]
    assert names == ["churn", "churn-eu"]
    everything = registry.list_models(deps, ctx_for("consumer"), limit=2)
    assert [m.name for m in everything.items] == ["churn", "churn-eu"] and everything.cursor
