"""Step handlers against in-process moto (DynamoDB, S3, CloudWatch, Application Auto Scaling,
Step Functions) and botocore's Stubber for the SageMaker and API Gateway calls moto lacks."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.adapters.apigateway import AuthorizerCache
from functions.adapters.autoscaling import EndpointAutoscaling
from functions.adapters.cloudwatch import EndpointAlarms
from functions.adapters.s3 import S3Objects, hex_to_b64
from functions.adapters.sagemaker import SageMakerEndpoints, SageMakerTraining
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps
from functions.core import deployments, governance, registry
from functions.core.deployments import NewDeployment, workflow_input
from functions.core.endpoints import EndpointSettings
from functions.core.models import Model, ModelCard, NewModel, NewVersion, Principal, Role
from functions.core.ports import Context
from functions.workflows.deploy_steps import DeployEnv
from functions.workflows.retrain_steps import RetrainEnv
from functions.workflows.settings import DeployStepsSettings, RetrainStepsSettings
from tests.conftest import ARTIFACTS, AUDIT_TABLE, TABLE

CPU, GPU = "1.dkr.ecr.us-east-1.amazonaws.com/modelport-cpu:1", "1.dkr.ecr.us-east-1.amazonaws.com/modelport-gpu:1"
CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")
ALICE = Context(actor=Principal(id="alice00000000000", owner="alice", roles=frozenset({Role.publisher})), request_id="r")
ADMIN = Context(actor=Principal(id="admin00000000000", owner="root", roles=frozenset({Role.admin})), request_id="r")
BOB = Context(actor=Principal(id="bob0000000000000", owner="bob", roles=frozenset({Role.approver})), request_id="r")
BODY = b"pretend model.tar.gz"
SHARED_ROLE = "arn:aws:iam::123456789012:role/shared-sagemaker"


@functools.cache
def clients(service: str) -> Any:
    """One client per service for the whole run (building clients is most of a test's cost);
    moto's in-process mock serves whichever client asks while it is active."""
    return boto3.client(service, region_name="us-east-1")


@functools.cache
def stubbed_client(service: str) -> Any:
    """Clients that only ever answer through a Stubber (kept apart from the moto-backed ones)."""
    return boto3.client(service, region_name="us-east-1")


class Starter:
    """The core's WorkflowStarter port, recording (the Step Functions adapter has its own test)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict]] = []

    def start(self, name: str, input: dict) -> bool:
        self.started.append((name, input))
        return True


@pytest.fixture
def settings(tables) -> DeployStepsSettings:
    return DeployStepsSettings(
        stage="test", table_name=TABLE, audit_table_name=AUDIT_TABLE, artifacts_bucket=ARTIFACTS,
        allowed_instance_types=("ml.m5.large", "ml.c5.xlarge", "ml.g5.xlarge"), cpu_image_uri=CPU, gpu_image_uri=GPU,
        rest_api_id="api123", api_stage_name="dev", sagemaker_role_arn=SHARED_ROLE,
    )  # fmt: skip


@pytest.fixture
def stubbed() -> dict[str, Stubber]:
    """Stubbers of the SageMaker and API Gateway clients; each must be fully used by the test."""
    made = {name: Stubber(stubbed_client(name)) for name in ("sagemaker", "apigateway")}
    for stub in made.values():
        stub.activate()
    yield made
    for stub in made.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


@pytest.fixture
def env(settings, stubbed) -> DeployEnv:
    return DeployEnv(
        settings=settings,
        deps=build_deps(settings, clients),
        endpoints=SageMakerEndpoints(stubbed["sagemaker"].client),
        alarms=EndpointAlarms(clients("cloudwatch")),
        scaling=EndpointAutoscaling(clients("application-autoscaling")),
        cache=AuthorizerCache(stubbed["apigateway"].client, "api123", "dev"),
    )


@pytest.fixture
def started(env) -> Callable[..., dict]:
    """started(version="1.0.0", alias="staging", upload=True, **settings) → the workflow input."""

    def start(version: str = "1.0.0", alias: str = "staging", *, upload: bool = True, **settings: Any) -> dict:
        deps = env.deps
        if deps.store.get(Model.key_for("churn"), Model) is None:
            registry.create_model(deps, ALICE, NewModel(name="churn", owner="alice", framework="sklearn"))
        sha = hashlib.sha256(BODY).hexdigest()
        published = registry.publish_version(deps, ALICE, "churn",
                                             NewVersion(version=version, sha256=sha, size=len(BODY), card=CARD))
        if upload:
            key = published.version.artifact.uri.split("/", 3)[3]
            clients("s3").put_object(Bucket=ARTIFACTS, Key=key, Body=BODY, ChecksumAlgorithm="SHA256",
                                     ChecksumSHA256=hex_to_b64(sha))
        if alias == "production":
            governance.submit(deps, ALICE, "churn", version)
            governance.approve(deps, BOB, "churn", version)
        new = NewDeployment(version=version, alias=alias, settings=EndpointSettings(**settings))
        deployment = deployments.start_deployment(deps, ALICE, env.settings.rules(), Starter(), "churn", new,
                                                  poll_seconds=5)
        return workflow_input(deployment, 5)

    return start


@pytest.fixture
def retrain_env(tables, stubbed) -> RetrainEnv:
    """The retrain steps' adapters: moto, and the stubbed SageMaker client."""
    settings = RetrainStepsSettings(
        stage="test", table_name=TABLE, audit_table_name=AUDIT_TABLE, artifacts_bucket=ARTIFACTS,
        allowed_instance_types=("ml.m5.large",), cpu_image_uri=CPU, gpu_image_uri=GPU, workflow_poll_seconds=7,
        training_max_runtime_seconds=70, sagemaker_role_arn=SHARED_ROLE,
    )  # fmt: skip
    sfn = clients("stepfunctions")
    machine = sfn.create_state_machine(
        name="deploy", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    return RetrainEnv(settings=settings, deps=build_deps(settings, clients),
                      training=SageMakerTraining(stubbed["sagemaker"].client), objects=S3Objects(clients("s3")),
                      deploy=StateMachine(sfn, machine))
