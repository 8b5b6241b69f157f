"""Deployments in the core: starting (checks before writing), progress, outcomes, events, audit."""

from __future__ import annotations

import pytest

from functions.core import auditing, deployments, governance, registry
from functions.core.deployments import DeploymentStatus, NewDeployment, workflow_context
from functions.core.endpoints import EndpointSettings, endpoint_name
from functions.core.errors import (
    ApprovalRequired,
    ArtifactNotVerified,
    DeploymentNotFound,
    Forbidden,
    ImageNotAvailable,
    InstanceTypeNotAllowed,
    VersionNotFound,
)
from functions.core.models import ModelCard, NewVersion
from functions.core.ports import StoredObject
from functions.core.semver import VersionSpec
from functions.core.stages import ImageCatalog, ImageRef, StageRules
from tests.unit.conftest import ctx_for

RULES = StageRules(
    stage="test",
    allowed_instance_types=("ml.m5.large", "ml.g5.xlarge"),
    images=ImageCatalog(cpu="acct.dkr.ecr.us-east-1.amazonaws.com/modelport-cpu:1",
                        gpu="acct.dkr.ecr.us-east-1.amazonaws.com/modelport-gpu:1"),
)
CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")


class Starter:
    def __init__(self, fail: Exception | None = None) -> None:
        self.started: list[tuple[str, dict]] = []
        self.fail = fail

    def start(self, name, input):
        if self.fail:
            raise self.fail
        self.started.append((name, input))
        return True


@pytest.fixture
def versions(deps, publisher, churn):
    for v in ("1.0.0", "1.1.0"):
        registry.publish_version(deps, publisher, "churn", NewVersion(version=v, sha256="ab" * 32, size=3, card=CARD))
    return deps


def test_start_resolves_the_spec_records_pending_and_starts_the_execution_named_by_the_id(versions, publisher):
    starter = Starter()
    new = NewDeployment(version="1.x", alias="staging", settings=EndpointSettings(instance_type="ml.g5.xlarge"))
    deployment = deployments.start_deployment(versions, publisher, RULES, starter, "churn", new, poll_seconds=7)
    assert (deployment.version, deployment.status, deployment.step) == ("1.1.0", DeploymentStatus.pending, "queued")
    assert deployment.endpoint == endpoint_name("test", "churn", "staging")
    [(name, payload)] = starter.started
    assert name == deployment.id
    assert payload == {
        "deployment_id": deployment.id, "model": "churn", "version": "1.1.0", "alias": "staging",
        "endpoint": deployment.endpoint, "settings": new.settings.model_dump(mode="json"), "image": None,
        "poll_seconds": 7,
    }  # fmt: skip
    stored = deployments.get_deployment(versions, publisher, "churn", deployment.id)
    assert stored == deployment
    assert [e.action for e in versions.store.events_of("churn")][-1] == "deployment.start"


@pytest.mark.parametrize(
    ("new", "error", "says"),
    [
        (NewDeployment(version="1.0.0", alias="staging", settings=EndpointSettings(instance_type="ml.p4d.24xlarge")),
         InstanceTypeNotAllowed, "ml.p4d.24xlarge is not allowed on stage 'test'"),
        (NewDeployment(version="1.0.0", alias="staging", image=ImageRef(framework="xgboost", version="1.7-1")),
         ImageNotAvailable, "xgboost 1.7-1: AWS framework images are not supported"),
        (NewDeployment(version="9.9.9", alias="staging"), VersionNotFound, "9.9.9"),
        (NewDeployment(version="1.0.0", alias="production"), ApprovalRequired, "production needs an approved"),
    ],
)
def test_bad_requests_write_nothing_and_start_nothing(versions, publisher, new, error, says):
    before = len(versions.store.events_of("churn"))
    starter = Starter()
    with pytest.raises(error, match=says):
        deployments.start_deployment(versions, publisher, RULES, starter, "churn", new)
    assert starter.started == []
    assert len(versions.store.events_of("churn")) == before
    assert deployments.list_deployments(versions, publisher, "churn").items == []


def test_instance_type_error_names_the_field(versions, publisher):
    with pytest.raises(InstanceTypeNotAllowed) as caught:
        RULES.check(EndpointSettings(instance_type="ml.c5.large"), None)
    assert caught.value.fields == [{"path": "body.settings.instance_type", "message": "ml.c5.large is not allowed"}]


def test_images_by_family_or_custom_uri_and_never_an_aws_framework_image():
    assert RULES.images.resolve(EndpointSettings(), None).endswith("modelport-cpu:1")
    assert RULES.images.resolve(EndpointSettings(instance_type="ml.g5.xlarge"), None).endswith("modelport-gpu:1")
    # AWS's sklearn/XGBoost containers load the model through the artifact's own inference
    # script (SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY): refused, naming why and the field
    with pytest.raises(ImageNotAvailable, match="SAGEMAKER_PROGRAM") as refused:
        RULES.images.resolve(EndpointSettings(), ImageRef(framework="sklearn", version="1.2-1"))
    assert refused.value.fields == [{"path": "body.image.framework", "message": "AWS framework images are not supported"}]
    custom = ImageRef(uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/rust-model:2.0")
    assert RULES.images.resolve(EndpointSettings(instance_type="ml.g5.xlarge"), custom) == custom.uri
    with pytest.raises(ImageNotAvailable, match="no Modelport GPU image"):
        ImageCatalog(cpu="x/cpu").resolve(EndpointSettings(instance_type="ml.g6.xlarge"), None)
    with pytest.raises(ValueError, match="needs a version"):
        ImageRef(framework="sklearn")


def test_consumers_may_not_deploy(versions):
    with pytest.raises(Forbidden):
        deployments.start_deployment(versions, ctx_for("consumer"), RULES, Starter(), "churn", NewDeployment(alias="staging"))


def test_a_workflow_that_cannot_start_leaves_a_failed_record(versions, publisher):
    with pytest.raises(RuntimeError):
        deployments.start_deployment(versions, publisher, RULES, Starter(RuntimeError("sfn down")), "churn",
                                     NewDeployment(version="1.0.0", alias="staging"))
    [failed] = deployments.list_deployments(versions, publisher, "churn").items
    assert (failed.status, failed.error) == (DeploymentStatus.failed, "RuntimeError")
    assert versions.events.sent[-1][0] == "Deployment Failed"


def test_progress_success_and_failure_are_audited_and_announced_once(versions, publisher):
    started = deployments.start_deployment(versions, publisher, RULES, Starter(), "churn",
                                           NewDeployment(version="1.0.0", alias="staging"))
    ctx = workflow_context(started.id)
    for step in ("validate", "validate", "create_model", "wait_endpoint"):
        deployments.record_step(versions, ctx, "churn", started.id, step)
    running = deployments.require_deployment(versions, "churn", started.id)
    assert (running.status, running.step) == (DeploymentStatus.running, "wait_endpoint")
    assert [m.step for m in running.steps] == ["queued", "validate", "create_model", "wait_endpoint"]
    done = deployments.succeed(versions, ctx, "churn", started.id, notes=["n1"])
    again = deployments.succeed(versions, ctx, "churn", started.id)
    late = deployments.fail(versions, ctx, "churn", started.id, error="X", cause="late")
    assert done.status == again.status == late.status == DeploymentStatus.succeeded
    assert [t for t, _ in versions.events.sent].count("Deployment Succeeded") == 1
    detail = versions.events.sent[-1][1]
    assert detail["deployment_id"] == started.id and detail["version"] == "1.0.0" and detail["notes"] == ["n1"]
    actions = [e.action for e in versions.store.events_of("churn")]
    assert actions[-5:] == ["deployment.start", "deployment.step", "deployment.step", "deployment.step", "deployment.succeed"]
    assert auditing.verify(versions, ctx_for("admin"), "churn").ok


def test_failure_keeps_the_step_and_cause(versions, publisher):
    started = deployments.start_deployment(versions, publisher, RULES, Starter(), "churn",
                                           NewDeployment(version="1.0.0", alias="staging"))
    ctx = workflow_context(started.id)
    deployments.record_step(versions, ctx, "churn", started.id, "wait_endpoint")
    failed = deployments.fail(versions, ctx, "churn", started.id, error="EndpointRolledBack", cause="alarm fired")
    assert (failed.status, failed.step, failed.error, failed.cause) == (
        DeploymentStatus.failed, "wait_endpoint", "EndpointRolledBack", "alarm fired")
    kind, detail = versions.events.sent[-1]
    assert kind == "Deployment Failed" and detail["step"] == "wait_endpoint" and detail["serving_version"] is None
    with pytest.raises(DeploymentNotFound):
        deployments.record_step(versions, ctx, "churn", "20250101-000000-ffffff", "validate")


def test_listing_is_newest_first_and_paged(versions, publisher, deps):
    ids = []
    for _ in range(3):
        ids.append(deployments.start_deployment(versions, publisher, RULES, Starter(), "churn",
                                                NewDeployment(version="1.0.0", alias="staging")).id)
        # one deployment per alias at a time: each finishes before the next starts
        deployments.fail(versions, workflow_context("r"), "churn", ids[-1], error="E", cause="test")
        deps.clock.advance(seconds=1)
    first = deployments.list_deployments(versions, publisher, "churn", limit=2)
    rest = deployments.list_deployments(versions, publisher, "churn", limit=2, cursor=first.cursor)
    assert [d.id for d in first.items + rest.items] == ids[::-1]
    assert rest.cursor is None


def test_artifact_must_be_verified_before_validate_passes(versions):
    version = registry.find_version(versions, "churn", VersionSpec.parse("1.0.0"))
    with pytest.raises(ArtifactNotVerified, match="no artifact uploaded"):
        governance.verify_artifact(versions, version)
    versions.artifacts.objects[version.artifact.uri] = StoredObject(sha256="ab" * 32, size=3)
    governance.verify_artifact(versions, version)
