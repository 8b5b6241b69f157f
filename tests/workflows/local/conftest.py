"""One local platform (embedded AWS + local SageMaker + gateway) for the workflow tests.

The deploy and retrain ASL files run in moto's Step Functions interpreter; their Lambda
steps are dispatched in-process by the embedded AWS's front; SageMaker calls go to the
local SageMaker, which runs real model-container and training processes. The workflows
poll every second here (`MODELPORT_WORKFLOW_POLL_SECONDS=1`) instead of every 30.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# Imported here, in the main thread: the platform's event source and warm-up threads would
# otherwise import the handlers concurrently, which Powertools' package does not survive.
import functions.deployments.handler
import functions.monitoring.handler
import functions.monitoring.indexer
import functions.monitoring.steps
import functions.retraining.handler
import functions.workflows.deploy_steps
import functions.workflows.retrain_steps
import functions.workflows.trigger  # noqa: F401
from functions.adapters.s3 import hex_to_b64
from functions.core import governance, registry
from functions.core.models import (
    Model,
    ModelCard,
    ModelPolicy,
    NewModel,
    NewVersion,
    Principal,
    Role,
)
from functions.core.ports import Context
from functions.workflows import wiring as workflow_wiring
from modelport.local.platform import Platform
from modelport.local.platform.testing import running_platform
from modelport.local.testing import python_model, wait_for

CARD = ModelCard(intended_use="tests", limitations="none", evaluation="n/a", training_data="synthetic")
ADMIN = Context(actor=Principal(id="admin00000000000", owner="root", roles=frozenset({Role.admin})),
                request_id="tests")
PUBLISHER = Context(actor=Principal(id="pub0000000000000", owner="alice", roles=frozenset({Role.publisher})),
                    request_id="test")
APPROVER = Context(actor=Principal(id="appr000000000000", owner="bob", roles=frozenset({Role.approver})),
                   request_id="test")


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MODELPORT_WORKFLOW_POLL_SECONDS", "1")
        with running_platform(tmp_path_factory.mktemp("platform"), health_timeout_s=20.0) as started:
            workflow_wiring.reset()
            yield started
    workflow_wiring.reset()


@pytest.fixture(scope="package")
def flushes(platform: Platform) -> Callable[[], int]:
    """How often the gateway's authorizer cache was flushed (FlushStageAuthorizersCache → front → gateway)."""
    return lambda: platform.gateway.app.cache.flushes


@pytest.fixture(scope="package")
def events(platform: Platform) -> Callable[[], list[dict]]:
    """Platform events, as delivered by an EventBridge rule to a queue: `events()` drains them."""
    sqs, bridge = platform.client("sqs"), platform.client("events")
    url = sqs.create_queue(QueueName="workflow-test-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bridge.put_rule(Name="all-modelport", EventBusName=platform.names.event_bus,
                    EventPattern=json.dumps({"source": ["modelport"]}))
    bridge.put_targets(Rule="all-modelport", EventBusName=platform.names.event_bus,
                       Targets=[{"Id": "queue", "Arn": arn}])
    seen: list[dict] = []

    def drain() -> list[dict]:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return seen
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


@pytest.fixture(scope="package")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.api_url, timeout=30,
                      headers={"Authorization": f"Bearer {platform.admin_key}"}) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def deps(platform: Platform):
    from functions.adapters import wiring

    return wiring.deps()


@pytest.fixture
def publish(platform: Platform, deps, tmp_path: Path) -> Callable[..., Any]:
    """publish(model, version, offset=..., approve=True, upload=True): a python-model version."""

    def make(model: str, version: str, *, offset: float = 0.0, approve: bool = True, upload: bool = True,
             failing: bool = False, metrics: dict[str, float] | None = None, **model_fields: Any):
        if deps.store.get(Model.key_for(model), Model) is None:
            # a python predictor is code: an admin creates the model with a policy allowing it
            policy = model_fields.pop("policy", ModelPolicy()).model_copy(update={"allow_code": True})
            registry.create_model(deps, ADMIN, NewModel(name=model, owner="alice", framework="python",
                                                        policy=policy, **model_fields))
        where = tmp_path / f"{model}-{version}"
        archive = failing_model(where) if failing else python_model(where, offset=offset)
        body = archive.read_bytes()
        sha = hashlib.sha256(body).hexdigest()
        published = registry.publish_version(
            deps, PUBLISHER, model,
            NewVersion(version=version, sha256=sha, size=len(body), card=CARD,
                       metrics=metrics if metrics is not None else {"accuracy": 0.5}),
        ).version
        if upload:
            key = published.artifact.uri.split("/", 3)[3]
            platform.client("s3").put_object(
                Bucket=platform.names.artifacts_bucket, Key=key, Body=body,
                ChecksumAlgorithm="SHA256", ChecksumSHA256=hex_to_b64(sha),
            )  # fmt: skip
        if approve:
            governance.submit(deps, PUBLISHER, model, version)
            governance.approve(deps, APPROVER, model, version)
        return published

    return make


def failing_model(directory: Path) -> Path:
    """A `python` artifact that loads and answers /ping, but whose every prediction fails (500)."""
    from model_containers import artifact

    model_dir = directory / "model"
    model_dir.mkdir(parents=True)
    (model_dir / "predictor.py").write_text(
        "def load(model_dir):\n    pass\n\n\ndef predict(batch):\n    raise RuntimeError('broken release')\n"
    )
    artifact.write_manifest(model_dir, framework="python", model_file="predictor.py",
                            signature={"inputs": [], "outputs": []})
    return artifact.pack(model_dir, directory / "model.tar.gz").path


def settled(api: httpx.Client, model: str, deployment_id: str, timeout: float = 90.0) -> dict:
    """GET the deployment until it succeeded or failed (what `modelport deploy --wait` does)."""

    def done() -> dict | None:
        body = api.get(f"/v1/models/{model}/deployments/{deployment_id}").json()
        return body if body["status"] in ("succeeded", "failed") else None

    return wait_for(done, timeout, 0.2, f"deployment {deployment_id}")


def deploy(api: httpx.Client, model: str, version: str, alias: str = "production", **settings: Any) -> dict:
    reply = api.post(f"/v1/models/{model}/deployments", json={"version": version, "alias": alias, "settings": settings})
    assert reply.status_code == 202, reply.text
    return settled(api, model, reply.json()["id"])


def invoke(api: httpx.Client, model: str, rows: list[list[float]], spec: str | None = None) -> httpx.Response:
    path = f"/v1/models/{model}/invocations" if spec is None else f"/v1/models/{model}/versions/{spec}/invocations"
    return api.post(path, content=json.dumps(rows), headers={"Content-Type": "application/json"})
