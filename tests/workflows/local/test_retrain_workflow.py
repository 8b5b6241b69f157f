"""The retrain workflow (retrain.asl.json in moto's interpreter): a dataset uploaded through the
API lands in S3, the notification goes S3 → SQS → trigger → execution, the local SageMaker
trains with the real training container, and the candidate is evaluated, registered and deployed."""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
import uuid
from pathlib import Path

import httpx
import pytest

from functions.core import governance, registry
from functions.core.models import (
    ModelPolicy,
    NewModel,
    Principal,
    RetrainAction,
    Role,
    TrainingSpec,
)
from functions.core.ports import Context
from functions.core.semver import VersionSpec
from functions.workflows import trigger
from modelport.local.event_source import SqsEventSource
from modelport.local.testing import wait_for
from tests.workflows.asl_requests import validated_tasks
from tests.workflows.local.conftest import APPROVER, invoke, settled

EVENTS = Path(__file__).parents[2] / "events"
#: creates the models: some policies here loosen the defaults, which only an admin may do at creation
ADMIN = Context(actor=Principal(id="admin00000000000", owner="root", roles=frozenset({Role.admin})), request_id="test")


def table(rows: int = 80) -> bytes:
    """Two features, a label that the first one separates: a tiny, learnable dataset."""
    lines = ["x1,x2,label"]
    for i in range(rows):
        x1 = (i % 20) - 10 + 0.5
        lines.append(f"{x1},{(i * 7) % 5},{int(x1 > 0)}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def model_with_production(deps, publish):
    """make(policy=..., hyperparameters=..., production_accuracy=...) → model name."""

    def make(unique: str, *, production_accuracy: float, **training) -> str:
        name = f"fraud-{unique}"
        policy = training.pop("policy", ModelPolicy(metric="accuracy"))
        registry.create_model(deps, ADMIN, NewModel(
            name=name, owner="alice", framework="sklearn", policy=policy,
            training=TrainingSpec(hyperparameters=training.pop("hyperparameters", {"target": "label"}))))
        publish(name, "1.0.0", metrics={"accuracy": production_accuracy})
        governance.set_alias(deps, APPROVER, name, "production", "1.0.0")
        return name

    return make


def upload_dataset(api: httpx.Client, model: str, body: bytes) -> str:
    """What `modelport retrain --data` does: ask for the URL, PUT with exactly its headers."""
    asked = api.post(f"/v1/models/{model}/datasets",
                     json={"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "filename": "train.csv"})
    assert asked.status_code == 201, asked.text
    upload = asked.json()["upload"]
    put = httpx.put(upload["url"], content=body, headers=upload["headers"])
    assert put.status_code == 200, put.text
    return asked.json()["uri"]


def retrain_of(api: httpx.Client, model: str, timeout: float = 120.0) -> dict:
    """The model's (only) retrain, once it finished."""

    def finished() -> dict | None:
        items = api.get(f"/v1/models/{model}/retrains").json()["items"]
        return items[0] if items and items[0]["status"] in ("succeeded", "failed") else None

    return wait_for(finished, timeout, 0.25, f"the retrain of {model}")


def notification(bucket: str, key: str) -> dict:
    """An SQS batch with one S3 notification for `bucket`/`key` (from tests/events)."""
    event = json.loads((EVENTS / "sqs_dataset_notification.json").read_text())
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = bucket
    body["Records"][0]["s3"]["object"].update(key=key.replace("/", "%2F"))
    body["Records"][0]["s3"]["object"].pop("versionId")
    event["Records"][0]["body"] = json.dumps(body)
    return event


def sqs_event(*bodies: str) -> dict:
    template = json.loads((EVENTS / "sqs_dataset_notification.json").read_text())["Records"][0]
    return {"Records": [dict(copy.deepcopy(template), body=b, messageId=str(uuid.uuid4())) for b in bodies]}


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "retrain-trigger", 256, "req"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retrain-trigger"


def executions(platform, retrain_id: str) -> list[dict]:
    arn = platform.names.state_machine_arn(platform.settings, platform.names.retrain_state_machine)
    listed = platform.client("stepfunctions").list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    return [e for e in listed if e["name"] == retrain_id]


def test_a_better_model_is_registered_with_lineage_and_deployed_to_staging(
    platform, api, deps, model_with_production, events, unique
):
    model = model_with_production(unique, production_accuracy=0.5,
                                  policy=ModelPolicy(metric="accuracy", on_retrain=RetrainAction.deploy_staging))
    body = table()
    dataset_uri = upload_dataset(api, model, body)

    retrain = retrain_of(api, model)
    assert (retrain["status"], retrain["outcome"], retrain["new_version"]) == ("succeeded", "deploying", "1.0.1"), retrain
    assert retrain["dataset"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert retrain["evaluation"]["accepted"] and retrain["evaluation"]["baseline_version"] == "1.0.0"
    assert retrain["metrics"]["accuracy"] > 0.5
    assert [s["step"] for s in retrain["steps"]] == [
        "queued", "train", "wait_training", "evaluate", "register", "finish", "done"]
    version = api.get(f"/v1/models/{model}/versions/1.0.1").json()
    lineage = dict(version["lineage"])
    # the reference trainer writes the training data's profile: its digest is in the lineage
    assert len(lineage.pop("baseline_sha256") or "") == 64
    # the code that produced it: the reference trainer's version and code digest, and its image
    trainer, digest, _, image = lineage.pop("code_revision").split(" ", 3)
    assert trainer == f"modelport-tabular@{importlib.metadata.version('modelport')}"
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert image == platform.settings.image("cpu")
    # who shaped it: the key that asked for the dataset's upload URL (issue 10: four eyes)
    uploader = {"id": platform.admin_key.split("_")[1], "owner": platform.settings.admin_owner}
    assert retrain["uploaded_by"] == retrain["started_by"] == uploader
    assert lineage == {
        "dataset_uri": dataset_uri, "dataset_sha256": hashlib.sha256(body).hexdigest(),
        "parent_version": "1.0.0", "training_job": retrain["training_job"],
        "dataset_uploaded_by": uploader, "retrain_started_by": uploader,
    }
    assert version["framework"] == "sklearn" and version["metrics"]["accuracy"] == retrain["metrics"]["accuracy"]
    assert version["artifact"]["uri"] == f"s3://{platform.names.artifacts_bucket}/models/{model}/1.0.1/model.tar.gz"
    governance.verify_artifact(deps, registry.find_version(deps, model, VersionSpec.parse("1.0.1")))

    deployment = settled(api, model, retrain["deployment_id"])
    assert (deployment["status"], deployment["alias"], deployment["source"]) == (
        "succeeded", "staging", f"retrain:{retrain['id']}"), deployment
    served = invoke(api, model, [[5.5, 1.0], [-5.5, 1.0]], spec="staging")
    assert served.status_code == 200 and served.json()["predictions"] == [1, 0]

    kinds = [(e["detail-type"], e["detail"].get("version")) for e in events() if e["detail"].get("model") == model]
    assert ("Version Registered", "1.0.1") in kinds
    assert ("Retrain Finished", "1.0.1") in kinds and ("Deployment Succeeded", "1.0.1") in kinds
    # the CreateTrainingJob request, resolved from the run's state input, is valid for botocore's model
    [execution] = executions(platform, retrain["id"])
    assert "CreateTrainingJob" in validated_tasks(platform.client("stepfunctions"), execution["executionArn"])


def test_a_model_that_is_not_better_is_rejected_and_a_redelivered_event_starts_nothing(
    platform, api, deps, model_with_production, events, unique
):
    model = model_with_production(unique, production_accuracy=1.01)  # cannot be beaten
    dataset_uri = upload_dataset(api, model, table())
    key = dataset_uri.split("/", 3)[3]
    redelivered = notification(platform.names.datasets_bucket, key)
    # a duplicate arrives while the first run is going, another after it finished
    assert trigger.lambda_handler(redelivered, Context()) == {"batchItemFailures": []}
    retrain = retrain_of(api, model)
    assert trigger.lambda_handler(redelivered, Context()) == {"batchItemFailures": []}

    assert (retrain["status"], retrain["outcome"], retrain["new_version"]) == (
        "succeeded", "rejected_by_evaluation", None), retrain
    assert not retrain["evaluation"]["accepted"] and "does not improve enough" in retrain["evaluation"]["reason"]
    assert [v["version"] for v in api.get(f"/v1/models/{model}/versions").json()["items"]] == ["1.0.0"]
    assert len(api.get(f"/v1/models/{model}/retrains").json()["items"]) == 1
    assert len(executions(platform, retrain["id"])) == 1
    audit = [e["action"] for e in api.get("/v1/audit", params={"chain": model, "limit": 100}).json()["items"]]
    assert audit.count("retrain.start") == 1 and audit[0] == "retrain.rejected_by_evaluation"
    [finished] = [e["detail"] for e in events()
                  if e["detail-type"] == "Retrain Finished" and e["detail"]["model"] == model]
    assert finished["outcome"] == "rejected_by_evaluation" and finished["baseline"] == 1.01


def test_a_failing_training_job_fails_the_retrain_with_its_cause(platform, api, model_with_production, unique):
    model = model_with_production(unique, production_accuracy=0.5, hyperparameters={"target": "nope"})
    upload_dataset(api, model, table())
    retrain = retrain_of(api, model)
    assert (retrain["status"], retrain["outcome"], retrain["step"], retrain["error"]) == (
        "failed", "failed", "wait_training", "TrainingFailed"), retrain
    assert "target column 'nope'" in retrain["cause"]
    assert [v["version"] for v in api.get(f"/v1/models/{model}/versions").json()["items"]] == ["1.0.0"]


def test_test_events_and_keys_outside_the_layout_are_ignored(platform, api, unique):
    bucket = platform.names.datasets_bucket
    bodies = [
        (EVENTS / "s3_test_event.json").read_text(),
        notification(bucket, "datasets/readme.txt")["Records"][0]["body"],
        notification(bucket, f"uploads/fraud-{unique}/train.csv")["Records"][0]["body"],
        notification(bucket, f"datasets/ghost-{unique}/train.csv")["Records"][0]["body"],
        notification("someone-elses-bucket", f"datasets/fraud-{unique}/train.csv")["Records"][0]["body"],
    ]
    assert trigger.lambda_handler(sqs_event(*bodies), Context()) == {"batchItemFailures": []}


def test_a_poison_message_goes_to_the_dead_letter_queue(platform, unique):
    sqs = platform.client("sqs")
    dlq = sqs.create_queue(QueueName=f"poison-dlq-{unique}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"poison-{unique}", Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    })["QueueUrl"]  # fmt: skip
    sqs.send_message(QueueUrl=queue, MessageBody="{not json")
    sqs.send_message(QueueUrl=queue, MessageBody=(EVENTS / "s3_test_event.json").read_text())
    source = SqsEventSource(sqs, queue, lambda event: trigger.lambda_handler(event, Context()), wait_s=0)
    outcomes = [source.poll_once() for _ in range(4)]
    assert sum(len(o.deleted) for o in outcomes) == 1  # the test event, processed once
    assert sum(len(o.kept) for o in outcomes) == 2  # the poison message, twice
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["{not json"]
