"""Four eyes through retraining, and owners compared as people (issue 10, finding 4 and the
owner-comparison finding).

A key with both the publisher and approver roles uploaded a dataset with labels of its
choice; the retrain registered 1.0.1 as `system:retrain` with no owner, and the same key
approved it. The uploader (and whoever started the retrain) is now on the retrain and the
version's lineage, and no one who shaped a version approves it. `Alice`, `alice` and the
full-width `ａｌｉｃｅ` are one person.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core import governance, registry, retraining
from functions.core.errors import FourEyesViolation, InvalidInput
from functions.core.models import Lineage, ModelCard, ModelPolicy, NewModel, NewVersion, Signature
from functions.core.principals import Contributor, normalize_owner, same_person
from functions.core.retraining import Dataset, NewDataset, workflow_context
from functions.core.semver import VersionSpec
from tests.unit.conftest import ctx_for

CARD = ModelCard(intended_use="churn", limitations="EU only", evaluation="auc .9", training_data="crm 2024")
BOTH = ctx_for("publisher", "approver", id="both000000000000", owner="mallory")
OTHER = ctx_for("approver", id="appr000000000000", owner="bob")
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def retrained(deps, uploader=BOTH, *, upload: bool = True, sha: str = "cd" * 32) -> str:
    """churn with production 1.0.0 (published and approved by others); a dataset uploaded by
    `uploader`; the retrain registers and submits 1.0.1. Returns its version."""
    admin = ctx_for("admin", id="admin0000000000a", owner="root")
    alice = ctx_for("publisher", id="pub0000000000000", owner="alice")
    registry.create_model(deps, admin, NewModel(name="churn", owner="alice", framework="sklearn",
                                                policy=ModelPolicy(metric="accuracy")))
    registry.publish_version(deps, alice, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=3, card=CARD,
                                                              metrics={"accuracy": 0.5}))
    deps.artifacts.objects["s3://artifacts/models/churn/1.0.0/model.tar.gz"] = _stored("ab" * 32, 3)
    governance.submit(deps, alice, "churn", "1.0.0")
    governance.approve(deps, OTHER, "churn", "1.0.0")
    governance.set_alias(deps, OTHER, "churn", "production", "1.0.0")
    key = "datasets/churn/direct/data.csv"
    if upload:
        asked = retraining.request_dataset_upload(deps, uploader, "churn", NewDataset(sha256="cd" * 32, size=10),
                                                  bucket="datasets")
        key = asked.uri.split("/", 3)[3]
    dataset = Dataset(bucket="datasets", key=key, version_id="v1", sha256=sha, size=10)
    rid = retraining.retrain_id(dataset, WHEN, "v1")
    ctx = workflow_context(rid)
    retraining.open_retrain(deps, ctx, "churn", dataset, rid)
    baseline = registry.find_version(deps, "churn", VersionSpec.parse("1.0.0"))
    evaluation = retraining.evaluate(ModelPolicy(metric="accuracy"), {"accuracy": 0.9}, baseline)
    retrain = retraining.record_step(deps, ctx, "churn", rid, "evaluate", training_job="mp-test-churn-1",
                                     evaluation=evaluation)
    new = retraining.register_candidate(deps, ctx, retrain, sha256="ef" * 32, size=99, framework="sklearn",
                                        signature=Signature(), metrics={"accuracy": 0.9})
    deps.artifacts.objects[new.artifact.uri] = _stored("ef" * 32, 99)
    governance.submit(deps, ctx, "churn", new.version)
    return new.version


def _stored(sha: str, size: int):
    from functions.core.ports import StoredObject

    return StoredObject(sha256=sha, size=size)


def test_the_dataset_uploader_cannot_approve_the_retrained_version(deps):
    version = retrained(deps)
    found = registry.find_version(deps, "churn", VersionSpec.parse(version))
    assert found.lineage.dataset_uploaded_by == Contributor(id=BOTH.actor.id, owner="mallory")
    assert found.lineage.retrain_started_by == Contributor(id=BOTH.actor.id, owner="mallory")
    [retrain] = retraining.list_retrains(deps, OTHER, "churn").items
    assert retrain.uploaded_by == found.lineage.dataset_uploaded_by
    with pytest.raises(FourEyesViolation, match="uploaded its training data"):
        governance.approve(deps, BOTH, "churn", version)
    # another key of the same person (any spelling of the owner) is the same person
    for owner in ("Mallory", "MALLORY", "ｍａｌｌｏｒｙ", " mallory "):
        other_key = ctx_for("approver", id="appr00000000000f", owner=owner)
        with pytest.raises(FourEyesViolation):
            governance.approve(deps, other_key, "churn", version)
    assert governance.approve(deps, OTHER, "churn", version).status.value == "approved"


def test_a_dataset_nobody_asked_to_upload_names_no_uploader(deps):
    """A file written straight into the bucket (or over an issued URL's key with other bytes):
    the lineage says no uploader is known; the platform's own principals remain excluded."""
    version = retrained(deps, upload=False)
    found = registry.find_version(deps, "churn", VersionSpec.parse(version))
    assert found.lineage.dataset_uploaded_by is None and found.lineage.retrain_started_by is None
    assert governance.approve(deps, BOTH, "churn", version).status.value == "approved"


def test_other_bytes_at_the_issued_key_are_not_the_uploaders(deps):
    version = retrained(deps, sha="00" * 32)  # not the checksum the URL was issued for
    found = registry.find_version(deps, "churn", VersionSpec.parse(version))
    assert found.lineage.dataset_uploaded_by is None


def test_people_are_compared_after_nfkc_and_casefold():
    assert normalize_owner("ａｌｉｃｅ") == normalize_owner("Alice") == normalize_owner(" ALICE ") == "alice"
    assert normalize_owner("Straße") == normalize_owner("STRASSE")
    assert same_person("k1", "Alice", "k2", "ａｌｉｃｅ") and same_person("k1", None, "k1", "bob")
    assert not same_person("k1", "alice", "k2", "alicia") and not same_person("k1", None, "k2", None)


def test_publishers_by_any_spelling_never_approve_their_own_version(deps):
    registry.create_model(deps, ctx_for("publisher", id="pub0000000000000", owner="Alice"),
                          NewModel(name="m", owner="team", framework="sklearn"))
    alice = ctx_for("publisher", id="pub0000000000000", owner="Alice")
    registry.publish_version(deps, alice, "m", NewVersion(version="1.0.0", sha256="ab" * 32, size=3, card=CARD))
    deps.artifacts.objects["s3://artifacts/models/m/1.0.0/model.tar.gz"] = _stored("ab" * 32, 3)
    governance.submit(deps, alice, "m", "1.0.0")
    with pytest.raises(FourEyesViolation, match="published by you"):
        governance.approve(deps, ctx_for("approver", id="appr00000000000a", owner="ａｌｉｃｅ"), "m", "1.0.0")


def test_only_the_platform_records_who_shaped_a_version(deps, publisher, churn):
    forged = Lineage(dataset_uploaded_by=Contributor(id="appr000000000000", owner="bob"))
    with pytest.raises(InvalidInput, match="recorded by the platform"):
        registry.publish_version(deps, publisher, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=3,
                                                                      lineage=forged))
