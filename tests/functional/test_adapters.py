"""The DynamoDB and S3 adapters against moto, through the core use cases."""

import base64
import hashlib

import boto3
import pytest

from functions.adapters.dynamodb import DynamoStore
from functions.adapters.s3 import S3Artifacts, hex_to_b64
from functions.core import auditing, governance, registry
from functions.core.errors import (
    ArtifactNotVerified,
    ConcurrentModification,
    InvalidInput,
    ModelExists,
    VersionConflict,
)
from functions.core.models import Model, ModelCard, NewModel, NewVersion
from functions.core.mutations import Put, change
from functions.core.ports import Deps, utcnow
from tests.conftest import ARTIFACTS, AUDIT_TABLE, TABLE
from tests.unit.conftest import ctx_for

CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")


@pytest.fixture
def deps(tables):
    store = DynamoStore(boto3.client("dynamodb"), TABLE, AUDIT_TABLE)
    from botocore.config import Config

    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    return Deps(store=store, audit=store, artifacts=S3Artifacts(s3, ARTIFACTS, clock=utcnow), sleep=lambda s: None)


@pytest.fixture
def pub():
    return ctx_for("publisher", id="p" * 16, owner="alice")


def test_create_publish_resolve_and_conflicts(deps, pub):
    registry.create_model(deps, pub, NewModel(name="churn", owner="a", framework="sklearn"))
    with pytest.raises(ModelExists):
        registry.create_model(deps, pub, NewModel(name="churn", owner="a", framework="sklearn"))
    for v in ["1.0.0", "1.2.0", "1.10.0", "2.0.0"]:
        registry.publish_version(deps, pub, "churn", NewVersion(version=v, sha256="ab" * 32, size=3))
    with pytest.raises(VersionConflict):
        registry.publish_version(deps, pub, "churn", NewVersion(version="1.2.0", sha256="ab" * 32, size=3))
    assert registry.resolve(deps, pub, "churn", "1.x").version == "1.10.0"
    assert registry.resolve(deps, pub, "churn", "latest").version == "2.0.0"
    assert registry.publish_version(deps, pub, "churn", NewVersion(bump="minor", sha256="ab" * 32, size=3)).version.version == "2.1.0"
    page = registry.list_versions(deps, pub, "churn", limit=2)
    assert [v.version for v in page.items] == ["2.1.0", "2.0.0"]
    rest = registry.list_versions(deps, pub, "churn", limit=3, cursor=page.cursor)
    assert [v.version for v in rest.items] == ["1.10.0", "1.2.0", "1.0.0"] and rest.cursor is None
    model = registry.get_model(deps, pub, "churn")
    assert (model.latest_version, model.version_count) == ("2.1.0", 5)
    assert auditing.verify(deps, ctx_for("admin"), "churn").ok


def test_cursors_cannot_leave_their_partition(deps, pub):
    for name in ["a1", "b1"]:
        registry.create_model(deps, pub, NewModel(name=name, owner="a", framework="onnx"))
        registry.publish_version(deps, pub, name, NewVersion(version="1.0.0", sha256="ab" * 32, size=3))
        registry.publish_version(deps, pub, name, NewVersion(version="2.0.0", sha256="ab" * 32, size=3))
    cursor = registry.list_versions(deps, pub, "a1", limit=1).cursor
    assert [v.version for v in registry.list_versions(deps, pub, "a1", cursor=cursor).items] == ["1.0.0"]
    for bad in [cursor + "x", "!!!", "e30", base64.urlsafe_b64encode(b'{"PK":"MODEL#a1"}').decode()]:
        with pytest.raises(InvalidInput, match="cursor"):
            registry.list_versions(deps, pub, "a1", cursor=bad)
    with pytest.raises(InvalidInput, match="cursor"):
        registry.list_versions(deps, pub, "b1", cursor=cursor)
    models = registry.list_models(deps, pub, limit=1)
    assert [m.name for m in models.items] == ["a1"]
    assert [m.name for m in registry.list_models(deps, pub, cursor=models.cursor).items] == ["b1"]


def test_stale_head_is_a_concurrent_modification(deps, pub):
    registry.create_model(deps, pub, NewModel(name="churn", owner="a", framework="onnx"))
    model, head = deps.store.read_head("churn", Model.key_for("churn"), Model)
    registry.publish_version(deps, pub, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=3))
    uow = change(deps, pub, head, action="model.touch", target="churn", details={}, writes=[Put(model)])
    with pytest.raises(ConcurrentModification):
        deps.store.commit(uow)
    assert auditing.verify(deps, ctx_for("admin"), "churn").events == 2


def test_presigned_upload_is_bound_to_the_checksum(deps):
    upload = deps.artifacts.upload_url(f"s3://{ARTIFACTS}/models/m/1.0.0/model.tar.gz", "ab" * 32, 7)
    signed = upload.url.split("X-Amz-SignedHeaders=")[1].split("&")[0].replace("%3B", ";").split(";")
    assert {"x-amz-checksum-sha256", "x-amz-sdk-checksum-algorithm", "content-length"} <= set(signed)
    assert upload.headers["x-amz-checksum-sha256"] == hex_to_b64("ab" * 32)


def test_submit_checks_the_stored_checksum(deps, pub):
    s3 = boto3.client("s3")
    registry.create_model(deps, pub, NewModel(name="churn", owner="a", framework="onnx"))
    body = b"model bytes"
    good = hashlib.sha256(body).hexdigest()
    for v in ["1.0.0", "1.1.0", "1.2.0"]:
        registry.publish_version(deps, pub, "churn", NewVersion(version=v, sha256=good, size=len(body), card=CARD))
    key = "models/churn/{}/model.tar.gz"
    # uploaded with the right checksum
    s3.put_object(Bucket=ARTIFACTS, Key=key.format("1.0.0"), Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=hex_to_b64(good))
    assert governance.submit(deps, pub, "churn", "1.0.0").status == "pending_approval"
    # uploaded with a different checksum (other bytes)
    other = b"other bytes"
    s3.put_object(Bucket=ARTIFACTS, Key=key.format("1.1.0"), Body=other, ChecksumAlgorithm="SHA256", ChecksumSHA256=hex_to_b64(hashlib.sha256(other).hexdigest()))
    with pytest.raises(ArtifactNotVerified, match="does not match"):
        governance.submit(deps, pub, "churn", "1.1.0")
    # uploaded without any checksum
    s3.put_object(Bucket=ARTIFACTS, Key=key.format("1.2.0"), Body=body, ChecksumAlgorithm="CRC32")
    with pytest.raises(ArtifactNotVerified, match="without a SHA-256"):
        governance.submit(deps, pub, "churn", "1.2.0")


def test_wiring_flushes_the_stages_authorizer_cache(control_plane_env, monkeypatch):
    from functions.adapters import wiring

    calls = []
    client = boto3.client("apigateway")
    client.meta.events.register(
        "provide-client-params.api-gateway.FlushStageAuthorizersCache", lambda params, **_: calls.append(dict(params))
    )
    monkeypatch.setenv("MODELPORT_REST_API_ID", "abc123")
    monkeypatch.setenv("MODELPORT_API_STAGE_NAME", "dev")
    wiring.reset()
    deps = wiring.build_deps(wiring.settings(), lambda service: client if service == "apigateway" else wiring.client(service))
    deps.authorizer_cache.flush()  # moto answers 404 for an unknown API: logged, not raised
    assert calls and calls[0]["restApiId"] == "abc123" and calls[0]["stageName"] == "dev"


def test_labels_of_the_windows_last_partial_second_are_in_it(tables):
    """inferenceTime has whole seconds, so a label's key does too. A window ending at
    12:00:05.4 holds requests of 12:00:05.0-.4: the drift job's capture reader keeps that
    second's records, so the labels read for the window must keep it as well (a run started
    within a second of its traffic joined only some of its labels)."""
    from datetime import UTC, datetime, timedelta

    from functions.adapters.feedback import DynamoFeedback
    from functions.core.feedback import Label

    feedback = DynamoFeedback(boto3.client("dynamodb"), TABLE)
    end = datetime(2026, 12, 1, 12, 0, 5, 400_000, tzinfo=UTC)
    times = {"before": end - timedelta(seconds=3), "last-second": end.replace(microsecond=0),
             "next-second": end.replace(microsecond=0) + timedelta(seconds=1)}
    feedback.put_new_labels([
        Label(model="m", alias="production", inference_id=name, time=when, label=1.0, labeled_at=end,
              labeled_by="k" * 16) for name, when in times.items()
    ])  # fmt: skip
    found = [label.inference_id for label in feedback.labels_between("m", end - timedelta(hours=1), end)]
    assert found == ["before", "last-second"]
    on_the_second = end.replace(microsecond=0)  # [start, 12:00:05.0) holds nothing of 12:00:05
    assert [label.inference_id for label in feedback.labels_between("m", end - timedelta(hours=1), on_the_second)] == ["before"]
