"""The deployments and retraining API end to end: gateway → authorizer → handler → moto.

The deploy workflow itself runs in tests/workflows; here moto only records the execution."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from functions.adapters.s3 import hex_to_b64
from functions.core.endpoints import endpoint_name
from tests.conftest import ARTIFACTS

BODY = b"pretend this is model.tar.gz"
SHA = hashlib.sha256(BODY).hexdigest()
CARD = {"intended_use": "churn", "limitations": "EU", "evaluation": "auc .9", "training_data": "2024 CRM"}
DATASETS = "modelport-test-datasets"


@pytest.fixture
def workflow_env(control_plane_env, monkeypatch):
    from functions.workflows import wiring

    boto3.client("s3").create_bucket(Bucket=DATASETS)
    machine = boto3.client("stepfunctions").create_state_machine(
        name="deploy", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    for name, value in {
        "MODELPORT_DEPLOY_STATE_MACHINE_ARN": machine,
        "MODELPORT_ALLOWED_INSTANCE_TYPES": "ml.m5.large,ml.g5.xlarge",
        "MODELPORT_CPU_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-cpu:1",
        "MODELPORT_GPU_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-gpu:1",
        "MODELPORT_DATASETS_BUCKET": DATASETS,
        "MODELPORT_WORKFLOW_POLL_SECONDS": "15",
    }.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    yield machine
    wiring.reset()


@pytest.fixture
def world(gateway, make_key, workflow_env):
    """churn 1.0.0 (approved, uploaded); keys by role."""
    keys = {role: make_key(role, owner=role, patterns=["churn*"]) for role in ("publisher", "approver", "consumer")}
    pub, appr = keys["publisher"], keys["approver"]
    gateway.call("POST", "/v1/models", token=pub, json_body={"name": "churn", "owner": "a", "framework": "sklearn"})
    reply = gateway.call("POST", "/v1/models/churn/versions", token=pub,
                         json_body={"version": "1.0.0", "sha256": SHA, "size": len(BODY), "card": CARD})
    key = reply.body["version"]["artifact"]["uri"].split(f"{ARTIFACTS}/", 1)[1]
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=BODY, ChecksumAlgorithm="SHA256",
                                  ChecksumSHA256=hex_to_b64(SHA))
    gateway.call("POST", "/v1/models/churn/versions/1.0.0/submit", token=pub)
    gateway.call("POST", "/v1/models/churn/versions/1.0.0/approve", token=appr)
    return keys


def test_a_deployment_is_accepted_recorded_and_its_workflow_started(gateway, world, workflow_env):
    reply = gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"], json_body={
        "version": "1.x", "alias": "production",
        "settings": {"instance_type": "ml.g5.xlarge", "strategy": {"type": "canary", "percent": 10, "wait_seconds": 60}},
    })  # fmt: skip
    assert reply.status == 202, reply.body
    deployment = reply.body
    assert (deployment["version"], deployment["status"], deployment["step"]) == ("1.0.0", "pending", "queued")
    assert deployment["endpoint"] == endpoint_name("test", "churn", "production")
    sfn = boto3.client("stepfunctions")
    [execution] = sfn.list_executions(stateMachineArn=workflow_env)["executions"]
    assert execution["name"] == deployment["id"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["poll_seconds"] == 15 and started["settings"]["strategy"]["type"] == "canary"
    shown = gateway.call("GET", f"/v1/models/churn/deployments/{deployment['id']}", token=world["consumer"])
    assert shown.status == 200 and shown.body == deployment


def test_an_idempotency_key_starts_one_deployment(gateway, world, workflow_env):
    calls = [gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"],
                          headers={"Idempotency-Key": "deploy-1"}, json_body={"version": "1.0.0", "alias": "staging"})
             for _ in range(2)]
    assert [c.status for c in calls] == [202, 202] and calls[0].body["id"] == calls[1].body["id"]
    assert len(boto3.client("stepfunctions").list_executions(stateMachineArn=workflow_env)["executions"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"version": "1.0.0", "settings": {"instance_type": "ml.p5.48xlarge"}}, 400, "InstanceTypeNotAllowed",
         "body.settings.instance_type"),
        ({"version": "1.0.0", "settings": {"strategy": {"type": "canary"}}}, 400, "InvalidInput", None),
        # SageMaker's TrafficRoutingConfig limits, refused before anything is created
        ({"version": "1.0.0", "settings": {"strategy": {"type": "canary", "percent": 60}}}, 400, "InvalidInput",
         "body.settings.strategy"),
        ({"version": "1.0.0", "settings": {"strategy": {"type": "linear", "percent": 5}}}, 400, "InvalidInput",
         "body.settings.strategy"),
        ({"version": "1.0.0", "settings": {"strategy": {"type": "linear", "percent": 10, "wait_seconds": 3600}}},
         400, "InvalidInput", "body.settings.strategy"),
        ({"version": "1.0.0", "settings": {"min_instances": 3, "max_instances": 2}}, 400, "InvalidInput", None),
        # AWS's framework containers expect an inference script of the artifact's own
        ({"version": "1.0.0", "image": {"framework": "sklearn", "version": "1.2-1"}}, 400, "ImageNotAvailable",
         "body.image.framework"),
        ({"version": "7.0.0"}, 404, "VersionNotFound", None),
        ({"version": "1.0.0", "alias": "Prod!"}, 400, "InvalidInput", None),
    ],
)
def test_bad_deployments_are_refused_before_anything_starts(gateway, world, workflow_env, body, status, code, field):
    reply = gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"], json_body=body)
    assert (reply.status, reply.error) == (status, code), reply.body
    if field:
        assert [f["path"] for f in reply.body["error"]["fields"]] == [field]
    if field == "body.settings.strategy":  # the 400 names SageMaker's limit
        assert any(limit in reply.body["error"]["message"] for limit in ("at most 50%", "10-50%", "28800 s")), reply.body
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=workflow_env)["executions"] == []
    assert gateway.call("GET", "/v1/models/churn/deployments", token=world["publisher"]).body["items"] == []


def test_roles_listing_and_unknown_deployments(gateway, world):
    refused = gateway.call("POST", "/v1/models/churn/deployments", token=world["consumer"], json_body={"alias": "staging"})
    assert (refused.status, refused.error) == (403, "Forbidden")
    # three aliases: one deployment per alias runs at a time
    ids = [gateway.call("POST", "/v1/models/churn/deployments", token=world["approver"],
                        json_body={"version": "1.0.0", "alias": alias}).body["id"] for alias in ("a", "b", "c")]
    first = gateway.call("GET", "/v1/models/churn/deployments", token=world["consumer"], query={"limit": "2"}).body
    rest = gateway.call("GET", "/v1/models/churn/deployments", token=world["consumer"],
                        query={"limit": "2", "cursor": first["cursor"]}).body
    assert sorted(d["id"] for d in first["items"] + rest["items"]) == sorted(ids) and rest["cursor"] is None
    missing = gateway.call("GET", "/v1/models/churn/deployments/20250101-120000-abcdef", token=world["consumer"])
    assert (missing.status, missing.error) == (404, "DeploymentNotFound")
    assert gateway.call("GET", "/v1/models/churn/deployments/../x", token=world["consumer"]).status in (400, 404)
    assert gateway.call("GET", "/v1/models/nope/deployments", token=world["consumer"]).status in (403, 404)


def test_dataset_uploads_and_retrain_listing(gateway, world):
    sha = hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    reply = gateway.call("POST", "/v1/models/churn/datasets", token=world["publisher"],
                         json_body={"sha256": sha, "size": 8, "filename": "train.csv"})
    assert reply.status == 201, reply.body
    assert reply.body["uri"].startswith(f"s3://{DATASETS}/datasets/churn/") and reply.body["uri"].endswith("/train.csv")
    assert reply.body["upload"]["headers"]["x-amz-checksum-sha256"] == hex_to_b64(sha)
    assert "X-Amz-Signature" in reply.body["upload"]["url"]
    no_checksum = gateway.call("POST", "/v1/models/churn/datasets", token=world["publisher"], json_body={"size": 8})
    assert (no_checksum.status, no_checksum.error) == (400, "InvalidInput")
    consumer = gateway.call("POST", "/v1/models/churn/datasets", token=world["consumer"],
                            json_body={"sha256": sha, "size": 8})
    assert consumer.status == 403
    listed = gateway.call("GET", "/v1/models/churn/retrains", token=world["consumer"])
    assert (listed.status, listed.body) == (200, {"items": [], "cursor": None})
    missing = gateway.call("GET", "/v1/models/churn/retrains/20250101-120000-0123456789abcdef", token=world["consumer"])
    assert (missing.status, missing.error) == (404, "RetrainNotFound")


def test_a_second_deployment_to_a_busy_alias_is_a_409_naming_the_first(gateway, world, workflow_env):
    """Two deployments to one alias used to both start, and the second failed late in its
    workflow with EndpointBusy; now the second is refused at once, and starts nothing."""
    first = gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"],
                         json_body={"version": "1.0.0", "alias": "staging"})
    assert first.status == 202
    second = gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"],
                          json_body={"version": "1.0.0", "alias": "staging"})
    assert (second.status, second.error) == (409, "DeploymentInProgress")
    assert first.body["id"] in second.body["error"]["message"]
    assert len(boto3.client("stepfunctions").list_executions(stateMachineArn=workflow_env)["executions"]) == 1
    other = gateway.call("POST", "/v1/models/churn/deployments", token=world["publisher"],
                         json_body={"version": "1.0.0", "alias": "canary"})
    assert other.status == 202


def _code_model(gateway, admin_token, pub, name: str, *, allow_code: bool) -> None:
    created = gateway.call("POST", "/v1/models", token=admin_token, json_body={
        "name": name, "owner": "a", "framework": "python", "policy": {"allow_code": allow_code}})
    assert created.status == 201, created.body
    reply = gateway.call("POST", f"/v1/models/{name}/versions", token=pub,
                         json_body={"version": "1.0.0", "sha256": SHA, "size": len(BODY), "card": CARD})
    key = reply.body["version"]["artifact"]["uri"].split(f"{ARTIFACTS}/", 1)[1]
    boto3.client("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=BODY, ChecksumAlgorithm="SHA256",
                                  ChecksumSHA256=hex_to_b64(SHA))


def test_approval_before_code_whoever_deploys_to_whatever_alias(gateway, make_key, admin_token, workflow_env):
    """Issue 10, the role × alias grid of approval before code: a python predictor is code."""
    keys = {role: make_key(role, owner=role, patterns=["churn*"]) for role in ("publisher", "approver", "consumer")}
    keys["admin"] = admin_token
    _code_model(gateway, admin_token, keys["publisher"], "churn-code", allow_code=True)
    for role, token in keys.items():
        for alias in ("staging", "dev-alice", "production"):
            reply = gateway.call("POST", "/v1/models/churn-code/deployments", token=token,
                                 json_body={"version": "1.0.0", "alias": alias})
            expected = (403, "Forbidden") if role == "consumer" else (409, "ApprovalRequired")
            assert (reply.status, reply.error) == expected, (role, alias, reply.body)
    gateway.call("POST", "/v1/models/churn-code/versions/1.0.0/submit", token=keys["publisher"])
    assert gateway.call("POST", "/v1/models/churn-code/versions/1.0.0/approve", token=keys["approver"]).status == 200
    started = gateway.call("POST", "/v1/models/churn-code/deployments", token=keys["publisher"],
                           json_body={"version": "1.0.0", "alias": "staging"})
    assert started.status == 202, started.body
    # without allow_code, not even an approved python version is deployed
    _code_model(gateway, admin_token, keys["publisher"], "churn-nocode", allow_code=False)
    gateway.call("POST", "/v1/models/churn-nocode/versions/1.0.0/submit", token=keys["publisher"])
    gateway.call("POST", "/v1/models/churn-nocode/versions/1.0.0/approve", token=keys["approver"])
    refused = gateway.call("POST", "/v1/models/churn-nocode/deployments", token=keys["publisher"],
                           json_body={"version": "1.0.0", "alias": "staging"})
    assert (refused.status, refused.error) == (409, "CodeNotAllowed")
