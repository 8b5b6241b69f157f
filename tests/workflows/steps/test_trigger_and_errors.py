"""The retrain trigger (idempotent on the object) and the error names step handlers raise."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import ClientError, EndpointConnectionError

from functions.adapters.s3 import S3Objects, hex_to_b64
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps
from functions.core import registry, retraining
from functions.core.models import NewModel, TrainingSpec
from functions.workflows import steps, trigger
from functions.workflows.settings import TriggerSettings
from functions.workflows.trigger import TriggerEnv
from tests.conftest import ARTIFACTS, AUDIT_TABLE, TABLE
from tests.workflows.steps.conftest import ALICE, clients

EVENTS = Path(__file__).parents[2] / "events"
DATASETS = "modelport-test-datasets"


@pytest.fixture
def env(tables) -> TriggerEnv:
    s3, sfn = clients("s3"), clients("stepfunctions")
    s3.create_bucket(Bucket=DATASETS)
    s3.put_bucket_versioning(Bucket=DATASETS, VersioningConfiguration={"Status": "Enabled"})
    machine = sfn.create_state_machine(
        name="retrain", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    settings = TriggerSettings(stage="test", table_name=TABLE, audit_table_name=AUDIT_TABLE, artifacts_bucket=ARTIFACTS,
                               datasets_bucket=DATASETS, retrain_state_machine_arn=machine, workflow_poll_seconds=3)
    deps = build_deps(settings, clients)
    registry.create_model(deps, ALICE, NewModel(name="churn", owner="a", framework="sklearn"))
    registry.create_model(deps, ALICE, NewModel(name="fraud", owner="a", framework="sklearn",
                                                training=TrainingSpec(dataset_prefix="datasets/fraud/monthly/")))
    return TriggerEnv(settings=settings, deps=deps, objects=S3Objects(s3), retrain=StateMachine(sfn, machine))


def put(key: str, body: bytes = b"a,b\n1,2\n") -> str:
    return clients("s3").put_object(Bucket=DATASETS, Key=key, Body=body, ChecksumAlgorithm="SHA256",
                                    ChecksumSHA256=hex_to_b64(hashlib.sha256(body).hexdigest()))["VersionId"]


def record(key: str, *, bucket: str = DATASETS, version: str | None = None, name: str = "ObjectCreated:Put") -> dict:
    event = json.loads((EVENTS / "sqs_dataset_notification.json").read_text())
    body = json.loads(event["Records"][0]["body"])
    s3 = body["Records"][0]["s3"]
    s3["bucket"]["name"], s3["object"]["key"] = bucket, key.replace(" ", "+")
    s3["object"].pop("versionId")
    if version:
        s3["object"]["versionId"] = version
    body["Records"][0]["eventName"] = name
    return next(S3Event(body).records)


def executions(env) -> list[str]:
    return [e["name"] for e in clients("stepfunctions").list_executions(
        stateMachineArn=env.settings.retrain_state_machine_arn)["executions"]]


def test_one_object_opens_one_retrain_however_often_it_is_announced(env):
    version = put("datasets/churn/2025/train data.csv")
    first = trigger.handle_object(env, record("datasets/churn/2025/train data.csv", version=version))
    again = trigger.handle_object(env, record("datasets/churn/2025/train data.csv", version=version))
    assert first["created"] and not again["created"] and first["retrain_id"] == again["retrain_id"]
    assert executions(env) == [first["retrain_id"]]
    retrain = retraining.require_retrain(env.deps, "churn", first["retrain_id"])
    assert (retrain.dataset.key, retrain.dataset.version_id) == ("datasets/churn/2025/train data.csv", version)
    assert retrain.dataset.sha256 is not None
    # a newer version of the object is another retrain, once the first has finished
    retraining.finish(env.deps, retraining.workflow_context("r"), "churn", first["retrain_id"],
                      retraining.RetrainOutcome.rejected_by_evaluation)
    newer = put("datasets/churn/2025/train data.csv", b"a,b\n3,4\n")
    third = trigger.handle_object(env, record("datasets/churn/2025/train data.csv", version=newer))
    assert third["retrain_id"] != first["retrain_id"] and len(executions(env)) == 2


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("datasets/ghost/train.csv", {}),  # no such model
        ("datasets/readme.txt", {}),  # outside datasets/<model>/
        ("datasets/fraud/adhoc/train.csv", {}),  # outside the model's dataset prefix
        ("datasets/churn/train.csv", {"bucket": "someone-else"}),
        ("datasets/churn/train.csv", {"name": "ObjectRemoved:Delete"}),
        ("datasets/churn/deleted-since.csv", {}),  # announced, but gone
    ],
)
def test_notifications_outside_the_layout_are_ignored(env, key, extra):
    if "deleted" not in key and "ghost" not in key:
        put(key)
    assert trigger.handle_object(env, record(key, **extra)) is None
    assert executions(env) == []


def test_the_models_dataset_prefix_is_honoured(env):
    put("datasets/fraud/monthly/2025-01.csv")
    assert trigger.handle_object(env, record("datasets/fraud/monthly/2025-01.csv"))["started"]


def error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (error("ThrottlingException"), steps.ThrottlingException),
        (error("TooManyRequestsException", 429), steps.ThrottlingException),
        (error("InternalFailure", 500), steps.ServiceUnavailableException),
        (error("Whatever", 503), steps.ServiceUnavailableException),
        (EndpointConnectionError(endpoint_url="https://sagemaker"), steps.ServiceUnavailableException),
        (error("ValidationException"), ClientError),
    ],
)
def test_transient_aws_errors_get_names_the_state_machine_retries(raised, expected):
    def step(state, env):
        raise raised

    with pytest.raises(expected) as caught:
        steps.run({"s": step}, {"step": "s", "input": {}}, trigger.logger, lambda: None)
    assert type(caught.value) is expected


def test_unknown_steps_and_failure_causes():
    with pytest.raises(steps.UnknownStep, match="'nope'"):
        steps.run({"s": lambda state, env: {}}, {"step": "nope"}, trigger.logger, lambda: None)
    lambda_error = {"error": {"Error": "VersionNotFound", "Cause": json.dumps({"errorMessage": "no 9.9.9",
                                                                              "stackTrace": ["x"]})}}
    assert steps.failure(lambda_error) == ("VersionNotFound", "no 9.9.9")
    service_error = {"error": {"Error": "SageMaker.AmazonSageMakerException", "Cause": "Could not find model"}}
    assert steps.failure(service_error) == ("SageMaker.AmazonSageMakerException", "Could not find model")
    assert steps.failure({}) == ("UnknownError", "UnknownError")


def test_the_state_machine_adapter_reports_a_reused_name(env):
    assert env.retrain.start("once", {"a": 1})
    assert not env.retrain.start("once", {"a": 2})
