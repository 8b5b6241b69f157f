"""Retrain steps one by one, and the trigger: training request, polls, evaluation, registration, policy."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime

import pytest

from functions.adapters.s3 import S3Objects
from functions.core import governance, registry, retraining
from functions.core.errors import (
    ArtifactNotVerified,
    CodeNotAllowed,
    ImageNotAvailable,
    MetricsMissing,
    TrainingFailed,
    TrainingTimedOut,
)
from functions.core.models import (
    ModelCard,
    ModelPolicy,
    NewModel,
    NewVersion,
    RetrainAction,
    TrainingSpec,
)
from functions.core.retraining import Dataset, RetrainOutcome, workflow_context
from functions.core.semver import VersionSpec
from functions.workflows import retrain_steps
from functions.workflows.retrain_steps import RetrainEnv
from tests.conftest import ARTIFACTS
from tests.workflows.steps.conftest import ADMIN, ALICE, BOB, CARD, CPU, GPU, clients

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def env(retrain_env) -> RetrainEnv:
    return retrain_env


def model(env, *, card: ModelCard = CARD, image: str | None = None, **policy) -> dict:
    """churn with production 1.0.0 (accuracy 0.8), and an open retrain; returns the workflow state."""
    deps = env.deps
    # a loosened policy (require_approval off, maybe deploy_staging): an admin creates the model
    registry.create_model(deps, ADMIN, NewModel(
        name="churn", owner="alice", framework="sklearn", policy=ModelPolicy(require_approval=False, **policy),
        training=TrainingSpec(instance_type="ml.g5.xlarge", hyperparameters={"epochs": "3", "target": "y"},
                              image=image)))
    registry.publish_version(deps, ALICE, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=1, card=card,
                                                              metrics={"accuracy": 0.8}))
    governance.set_alias(deps, BOB, "churn", "production", "1.0.0")
    dataset = Dataset(bucket="ds", key="datasets/churn/a/train.csv", version_id="v1", sha256="cd" * 32, size=9)
    rid = retraining.retrain_id(dataset, NOW, "v1")
    retraining.open_retrain(deps, workflow_context(rid), "churn", dataset, rid)
    return {"retrain_id": rid, "model": "churn", "dataset": dataset.model_dump(mode="json"), "poll_seconds": 7}


def training_output(metrics: dict | None, key: str = "training/churn/job/output/model.tar.gz",
                    code: dict | None = None) -> tuple[str, str]:
    """A model.tar.gz with metrics.json and modelport.json in moto's S3; (uri, sha256)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {"modelport.json": {"framework": "sklearn", "model_file": "model.skops",
                                    "signature": {"inputs": [{"name": "x", "dtype": "float64", "shape": [-1]}]},
                                    **({"code": code} if code else {})},
                 "model.skops": "weights"}
        if metrics is not None:
            files["metrics.json"] = metrics
        for name, content in files.items():
            data = (json.dumps(content) if not isinstance(content, str) else content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    body = buffer.getvalue()
    clients("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=body)
    return f"s3://{ARTIFACTS}/{key}", hashlib.sha256(body).hexdigest()


def test_the_training_request_follows_the_spec(env):
    state = model(env)
    job = retrain_steps.train(state, env)
    assert job["name"].startswith("mp-test-churn-") and len(job["name"]) <= 63
    assert job == {**job, "image": GPU, "instance_type": "ml.g5.xlarge", "hyperparameters": {"epochs": "3", "target": "y"},
                   "poll_seconds": 7, "max_runtime_seconds": 70}
    # enough polls for the job's runtime and SageMaker's start-up and upload (the waits back off)
    assert job["max_polls"] == retrain_steps._schedule(7, 70).max_polls >= (70 + 3600) // 7
    assert retraining.require_retrain(env.deps, "churn", state["retrain_id"]).training_job == job["name"]
    gpu_less = dataclasses.replace(env, settings=env.settings.model_copy(update={"gpu_image_uri": None}))
    with pytest.raises(ImageNotAvailable, match="no GPU image"):
        retrain_steps.train(state, gpu_less)


@pytest.mark.parametrize("allow_code", [False, True])
def test_a_training_image_of_the_models_own_needs_allow_code(env, allow_code):
    """Issue 10: a custom training image runs the model's code on every retrain."""
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/trainer:1"
    state = model(env, image=image, allow_code=allow_code)
    if allow_code:
        assert retrain_steps.train(state, env)["image"] == image
    else:
        with pytest.raises(CodeNotAllowed, match=r"training image .* \(policy.allow_code"):
            retrain_steps.train(state, env)


def describe(status: str, **extra) -> dict:
    return {"TrainingJobName": "job", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job",
            "TrainingJobStatus": status, "SecondaryStatus": "Training", "CreationTime": NOW,
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": CPU},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 70}, "ModelArtifacts": {"S3ModelArtifacts": "s3://a/m.tar.gz"},
            **extra}  # fmt: skip


def test_training_polls(env, stubbed):
    state = {**model(env), "job": {"name": "job", "max_polls": 3}}
    sm = stubbed["sagemaker"]
    sm.add_response("describe_training_job", describe("InProgress"), {"TrainingJobName": "job"})
    assert retrain_steps.check_training({**state, "training": {"polls": 1}}, env) == {
        "done": False, "polls": 2, "status": "InProgress", "wait_seconds": 7}
    sm.add_response("describe_training_job", describe("Completed"))
    assert retrain_steps.check_training(state, env)["artifacts"] == "s3://a/m.tar.gz"
    sm.add_response("describe_training_job", describe("Failed", FailureReason="AlgorithmError: no column y"))
    with pytest.raises(TrainingFailed, match="no column y"):
        retrain_steps.check_training(state, env)
    sm.add_response("describe_training_job", describe("InProgress"))
    sm.add_response("stop_training_job", {}, {"TrainingJobName": "job"})
    with pytest.raises(TrainingTimedOut, match="it was stopped"):
        retrain_steps.check_training({**state, "training": {"polls": 2}}, env)


@pytest.mark.parametrize(("accuracy", "accepted"), [(0.9, True), (0.7, False)])
def test_evaluation_reads_the_output_and_compares_with_production(env, accuracy, accepted):
    state = model(env)
    uri, sha = training_output({"accuracy": accuracy, "n_test": 20})
    found = retrain_steps.evaluate({**state, "training": {"artifacts": uri}}, env)
    assert (found["accepted"], found["sha256"], found["framework"]) == (accepted, sha, "sklearn")
    assert found["metrics"] == {"accuracy": accuracy, "n_test": 20.0}
    assert found["signature"]["inputs"][0]["name"] == "x"
    recorded = retraining.require_retrain(env.deps, "churn", state["retrain_id"])
    assert recorded.evaluation.accepted is accepted and recorded.evaluation.baseline == 0.8
    with pytest.raises(MetricsMissing, match="no metrics.json"):
        retrain_steps.evaluate({**state, "training": {"artifacts": training_output(None, "training/x.tar.gz")[0]}}, env)


def test_registration_copies_the_artifact_with_its_checksum_verified(env):
    state = model(env)
    uri, sha = training_output({"accuracy": 0.9})
    state["training"] = {"artifacts": uri}
    state["evaluation"] = retrain_steps.evaluate(state, env)
    registered = retrain_steps.register(state, env)
    assert registered == {"version": "1.0.1", "artifact": f"s3://{ARTIFACTS}/models/churn/1.0.1/model.tar.gz"}
    # nothing in this output says which code made it: no code revision is made up
    assert registry.find_version(env.deps, "churn", VersionSpec.parse("1.0.1")).lineage.code_revision is None
    stored = S3Objects(clients("s3")).head(ARTIFACTS, "models/churn/1.0.1/model.tar.gz")
    assert stored.sha256 == sha
    assert retraining.require_retrain(env.deps, "churn", state["retrain_id"]).new_version == "1.0.1"
    state["evaluation"] = {**state["evaluation"], "sha256": "00" * 32}
    with pytest.raises(ArtifactNotVerified, match="changed after evaluation"):
        retrain_steps.register(state, env)


@pytest.mark.parametrize(
    ("action", "card", "outcome", "note"),
    [
        (RetrainAction.stop, CARD, "registered", None),
        (RetrainAction.submit, CARD, "submitted", None),
        (RetrainAction.submit, ModelCard(intended_use="x"), "registered", "ModelCardIncomplete"),
        (RetrainAction.deploy_staging, CARD, "deploying", None),
    ],
)
def test_the_policy_decides_what_follows_registration(env, action, card, outcome, note):
    state = model(env, card=card, on_retrain=action)
    uri, _ = training_output({"accuracy": 0.9})
    state["training"] = {"artifacts": uri}
    state["evaluation"] = retrain_steps.evaluate(state, env)
    state["registered"] = retrain_steps.register(state, env)
    result = retrain_steps.finish(state, env)
    done = retraining.require_retrain(env.deps, "churn", state["retrain_id"])
    assert (result["outcome"], done.outcome.value, done.status.value) == (outcome, outcome, "succeeded")
    assert (note in (done.note or "")) if note else done.note is None
    if action is RetrainAction.submit and note is None:
        assert registry.find_version(env.deps, "churn", VersionSpec.parse("1.0.1")).status == "pending_approval"
    if action is RetrainAction.deploy_staging:
        listed = clients("stepfunctions").list_executions(stateMachineArn=env.deploy._arn)["executions"]
        assert [e["name"] for e in listed] == [done.deployment_id]


def test_mark_failed_records_the_native_steps_failure(env):
    state = model(env)
    caught = {"Error": "SageMaker.ResourceLimitExceededException", "Cause": "account limit for ml.g5.xlarge"}
    assert retrain_steps.mark_failed({**state, "error": caught, "failed_step": "train"}, env) == {
        "outcome": "failed", "error": "SageMaker.ResourceLimitExceededException"}
    done = retraining.require_retrain(env.deps, "churn", state["retrain_id"])
    assert (done.outcome, done.step, done.cause) == (RetrainOutcome.failed, "train", "account limit for ml.g5.xlarge")


@pytest.mark.parametrize(("image", "code", "expected"), [
    ("acct.dkr.ecr.eu-west-1.amazonaws.com/modelport-cpu:0.1.0",
     {"trainer": "modelport-tabular", "version": "0.1.0", "sha256": "ab" * 32},
     "modelport-tabular@0.1.0 sha256:" + "ab" * 32 + " image acct.dkr.ecr.eu-west-1.amazonaws.com/modelport-cpu:0.1.0"),
    ("acct.dkr.ecr.eu-west-1.amazonaws.com/mine@sha256:" + "cd" * 32, None,
     "image acct.dkr.ecr.eu-west-1.amazonaws.com/mine@sha256:" + "cd" * 32),
    ("img:1", {"trainer": "custom:train.py", "sha256": "not a digest"}, "custom:train.py image img:1"),
    (None, None, None),
])
def test_the_code_revision_names_the_trainer_its_digest_and_the_image(image, code, expected):
    assert retrain_steps.code_revision(image, code) == expected


def test_evaluation_carries_the_code_revision_the_training_reported(env):
    state = model(env)
    uri, _ = training_output({"accuracy": 0.9}, code={"trainer": "modelport-tabular", "version": "9.9", "sha256": "ef" * 32})
    state.update(training={"artifacts": uri}, job={"image": "img:2"})
    state["evaluation"] = retrain_steps.evaluate(state, env)
    assert state["evaluation"]["code_revision"] == "modelport-tabular@9.9 sha256:" + "ef" * 32 + " image img:2"
    retrain_steps.register(state, env)
    version = registry.find_version(env.deps, "churn", VersionSpec.parse("1.0.1"))
    assert version.lineage.code_revision == state["evaluation"]["code_revision"]
