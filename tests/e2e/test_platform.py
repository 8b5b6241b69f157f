"""End to end over real HTTP against `modelport local up` running as its own process."""

from __future__ import annotations

import threading
import time

import pytest

from modelport.client import AuthenticationError, ConflictError, PermissionDeniedError
from tests.e2e.conftest import LocalUp, publish_approved, python_model


@pytest.fixture(scope="module")
def team(local: LocalUp):
    """A publisher, an approver and an application key."""
    admin = local.client()
    approver = local.client(admin.keys.create({"owner": "e2e-approver", "roles": ["approver"]}).token)
    return admin, approver


@pytest.fixture(scope="module")
def serving(local: LocalUp, team, tmp_path_factory) -> str:
    """Model `served` with 1.0.0 (row sum) in production."""
    admin, approver = team
    admin.models.create({"name": "served", "owner": "e2e", "framework": "python", "policy": {"allow_code": True}})
    publish_approved(admin, approver, "served", "1.0.0", python_model(tmp_path_factory.mktemp("v1")))
    started = admin.deployments.start("served", "1.0.0", to="production")
    assert admin.deployments.wait("served", started.id, timeout_s=120).status.value == "succeeded"
    return "served"


def test_authorization_failures(local: LocalUp, team, serving: str, unique: str) -> None:
    admin, _ = team
    consumer = local.client(admin.keys.create({"owner": "app", "roles": ["consumer"], "patterns": ["served"]}).token)
    assert consumer.invoke(serving, [[1, 2]]).data() == {"predictions": [3.0]}
    with pytest.raises(PermissionDeniedError) as denied:
        consumer.models.create({"name": f"x-{unique}", "owner": "app", "framework": "python"})
    assert denied.value.status == 403
    outsider = local.client(admin.keys.create({"owner": "outsider", "roles": ["consumer"], "patterns": ["other*"]}).token)
    with pytest.raises(PermissionDeniedError) as pattern:
        outsider.invoke(serving, [[1, 2]])
    assert pattern.value.code == "Forbidden"
    with pytest.raises(AuthenticationError):
        local.client("mp_0123456789abcdef_" + "a" * 43).invoke(serving, [[1]])
    key_id = consumer._t._http.headers["Authorization"].split("_")[1]
    admin.keys.revoke(key_id)
    with pytest.raises(AuthenticationError):
        consumer.invoke(serving, [[1, 2]])


def test_a_failing_canary_rolls_back_while_the_old_version_answers(local: LocalUp, team, serving, tmp_path) -> None:
    admin, approver = team
    publish_approved(admin, approver, serving, "1.1.0", python_model(tmp_path / "broken", fail=True))
    answers: list[object] = []
    stop = threading.Event()

    def traffic() -> None:
        with local.client() as client:
            while not stop.is_set():
                try:
                    answers.append(client.invoke(serving, [[1, 2]]).data())
                except Exception as exc:  # noqa: BLE001 - the canary's failures are counted
                    answers.append(exc)
                time.sleep(0.02)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        started = admin.deployments.start(serving, "1.1.0", to="production", strategy="canary:50%:5s")
        final = admin.deployments.wait(serving, started.id, timeout_s=120)
    finally:
        stop.set()
        sender.join()
    assert final.status.value == "failed", final
    assert "rolled" in (final.cause or "").lower() or "roll" in (final.error or "").lower(), final
    assert admin.versions.get(serving, "production").version == "1.0.0"
    good = [a for a in answers if a == {"predictions": [3.0]}]
    assert good and len(good) + sum(isinstance(a, Exception) for a in answers) == len(answers)
    for _ in range(10):
        assert admin.invoke(serving, [[1, 2]]).data() == {"predictions": [3.0]}


def test_a_duplicate_dataset_notification_starts_no_second_retrain(local: LocalUp, team, tmp_path) -> None:
    import boto3

    admin, _ = team
    admin.models.create({"name": "retrained", "owner": "e2e", "framework": "sklearn",
                         "training": {"trainer": "tabular", "hyperparameters": {"target": "y"}}})
    rows = ["a,b,y"] + [f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(120)]
    data = tmp_path / "data.csv"
    data.write_text("\n".join(rows) + "\n")
    uploaded = admin.retrains.upload_dataset("retrained", data)
    retrain = admin.retrains.for_dataset("retrained", uploaded.uri)
    # S3 delivers notifications at least once: send this object's event again
    s3 = boto3.client("s3", endpoint_url=local.info["aws_url"], region_name="us-east-1", **local.aws_keys())
    bucket, key = uploaded.uri[5:].split("/", 1)
    head = s3.head_object(Bucket=bucket, Key=key)
    sqs = boto3.client("sqs", endpoint_url=local.info["aws_url"], region_name="us-east-1", **local.aws_keys())
    queue = sqs.get_queue_url(QueueName="modelport-local-datasets")["QueueUrl"]
    import json

    event = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
        "eventTime": head["LastModified"].isoformat(),
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": key, "size": head["ContentLength"], "eTag": head["ETag"].strip('"'),
                          "versionId": head.get("VersionId"), "sequencer": "0"}},
    }]}  # fmt: skip
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
    final = admin.retrains.wait("retrained", retrain.id, timeout_s=180)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages",
                                                                              "ApproximateNumberOfMessagesNotVisible"])
        if all(v == "0" for v in attributes["Attributes"].values()):
            break
        time.sleep(0.2)
    assert all(v == "0" for v in attributes["Attributes"].values()), attributes
    retrains = [r for r in admin.retrains.list("retrained") if r.dataset.uri == uploaded.uri]
    assert [r.id for r in retrains] == [retrain.id]
    assert final.status.value == "succeeded" and final.new_version, final


def test_a_restart_keeps_all_state_and_serving_endpoints(local: LocalUp, team, serving, tmp_path) -> None:
    admin, approver = team
    admin.push(serving, python_model(tmp_path / "late", offset=5.0), version="2.0.0",
               card={"intended_use": "e2e", "limitations": "none", "evaluation": "none", "training_data": "none"})
    before = {
        "models": sorted(m.name for m in admin.models.list()),
        "versions": [(v.version, v.status.value) for v in admin.versions.list(serving)],
        "keys": sorted(k.key_id for k in admin.keys.list()),
        "aliases": [(a.alias, a.version, a.endpoint) for a in admin.aliases.list(serving)],
        "audit": [e.hash for e in admin.audit.list(serving)],
        "deployments": [(d.id, d.status.value) for d in admin.deployments.list(serving)],
    }
    key, url = local.admin_key, local.url
    assert local.stop() == 0
    local.start()
    admin2 = local.client()
    assert local.info["admin_key_created"] is False and local.admin_key == key
    after = {
        "models": sorted(m.name for m in admin2.models.list()),
        "versions": [(v.version, v.status.value) for v in admin2.versions.list(serving)],
        "keys": sorted(k.key_id for k in admin2.keys.list()),
        "aliases": [(a.alias, a.version, a.endpoint) for a in admin2.aliases.list(serving)],
        "audit": [e.hash for e in admin2.audit.list(serving)],
        "deployments": [(d.id, d.status.value) for d in admin2.deployments.list(serving)],
    }
    assert after == before
    assert admin2.audit.verify().ok
    # the endpoint came back up, and the artifact uploaded before the restart still verifies
    deadline = time.monotonic() + 60
    while True:
        try:
            assert admin2.invoke(serving, [[1, 2]]).data() == {"predictions": [3.0]}
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    assert admin2.versions.submit(serving, "2.0.0").status.value == "pending_approval"
    with pytest.raises(ConflictError):
        admin2.versions.submit(serving, "2.0.0")
    assert approver.url == url
