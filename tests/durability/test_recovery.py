"""Recovery at start (issue 11): what a crash of the last run interrupted is ended with a
clear cause, audited, and the local SageMaker is made to agree with the registry.

The state a crash leaves is written directly (a deployment whose workflow never ran on,
a retrain, endpoints the registry does not know or that serve another version than their
alias says); the platform is then started again on it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from functions.adapters import wiring
from functions.core import deployments, governance, registry, retraining
from functions.core.deployments import DeploymentStatus, NewDeployment
from functions.core.models import NewModel, NewVersion, Principal, Role
from functions.core.ports import Context
from functions.core.retraining import Dataset, RetrainStatus
from functions.workflows.deploy_plan import resource_name
from functions.workflows.settings import DeploymentsSettings
from modelport.local.platform import Platform
from modelport.local.platform.testing import settings_for_tests
from modelport.local.testing import ROLE_ARN, python_model, wait_endpoint, wait_for

ADMIN = Context(actor=Principal(id="test-admin", owner="ops", roles=frozenset({Role.admin})), request_id="t")


class NoWorkflow:
    """What a crash leaves: the record is written, its execution is gone."""

    def start(self, name, input):
        return True


def restart(platform: Platform) -> Platform:
    platform.stop()
    again = Platform(platform.settings).start()
    wait_for(lambda: again.recovery.report.finished, 120, 0.1, "endpoint reconciliation")
    return again


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recovery")


def model_with_versions(deps, name: str, *versions: str) -> None:
    registry.create_model(deps, ADMIN, NewModel(name=name, owner="ops", framework="sklearn"))
    for v in versions:
        registry.publish_version(deps, ADMIN, name, NewVersion(version=v, sha256="ab" * 32, size=3))


def serve(platform: Platform, name: str, version: str, offset: float, work: Path) -> str:
    """The SageMaker model and config a deployment of `version` would have made: `name`."""
    s3, sm = platform.client("s3"), platform.client("sagemaker")
    archive = python_model(work / name, offset=offset)
    key = f"models/recovery/{name}/model.tar.gz"
    s3.upload_file(str(archive), platform.names.artifacts_bucket, key)
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": platform.settings.image("cpu"), "ModelDataUrl": f"s3://{platform.names.artifacts_bucket}/{key}",
        "Environment": {"MODELPORT_VERSION": version}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    return name


def test_a_crash_in_the_middle_of_changes_is_recovered_from(state, tmp_path):
    platform = Platform(settings_for_tests(state)).start()
    try:
        deps = wiring.deps()
        rules = DeploymentsSettings().rules()
        sm = platform.client("sagemaker")
        # 1. a deployment and a retrain whose executions the crash ended
        model_with_versions(deps, "halfway", "1.0.0")
        stuck = deployments.start_deployment(deps, ADMIN, rules, NoWorkflow(), "halfway",
                                             NewDeployment(version="1.0.0", alias="staging"))
        deployments.record_step(deps, deployments.workflow_context("x"), "halfway", stuck.id, "create_endpoint")
        dataset = Dataset(bucket=platform.names.datasets_bucket, key="datasets/halfway/d/data.csv", size=1)
        retrain, _ = retraining.open_retrain(deps, retraining.workflow_context("x"), "halfway", dataset,
                                             f"20250101-000000-{uuid.uuid4().hex[:16]}")
        # 2. endpoints the registry does not know: one of the platform's, one of someone else's
        unknown = f"mp-{platform.settings.stage}-nobody-{uuid.uuid4().hex[:8]}"
        foreign = f"someone-else-{uuid.uuid4().hex[:8]}"
        for endpoint in (unknown, foreign):
            config = serve(platform, endpoint, "0.0.1", 0.0, tmp_path)
            sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        # 3. the crash fell between an endpoint's update and its alias's move: the endpoint
        # serves 1.1.0, the alias still says 1.0.0
        model_with_versions(deps, "between", "1.0.0", "1.1.0")
        first = deployments.start_deployment(deps, ADMIN, rules, NoWorkflow(), "between",
                                             NewDeployment(version="1.0.0", alias="staging"))
        endpoint = first.endpoint
        serve(platform, resource_name(endpoint, first.id), "1.0.0", 0.0, tmp_path)
        governance.set_alias(deps, deployments.workflow_context("x"), "between", "staging", "1.0.0",
                             endpoint=endpoint, deployment_id=first.id)
        deployments.succeed(deps, deployments.workflow_context("x"), "between", first.id)
        second = deployments.start_deployment(deps, ADMIN, rules, NoWorkflow(), "between",
                                              NewDeployment(version="1.1.0", alias="staging"))
        deployments.record_step(deps, deployments.workflow_context("x"), "between", second.id, "autoscaling")
        sm.create_endpoint(EndpointName=endpoint,
                           EndpointConfigName=serve(platform, resource_name(endpoint, second.id), "1.1.0", 100.0,
                                                    tmp_path))
        for name in (unknown, foreign, endpoint):
            assert wait_endpoint(sm, name)["EndpointStatus"] == "InService"
    finally:
        platform.stop()  # the state now is what a crash would have left

    platform = restart(platform)
    try:
        deps = wiring.deps()
        report = platform.recovery.report
        # the interrupted records are ended, with a cause, audited as the recovery
        ended = deployments.require_deployment(deps, "halfway", stuck.id)
        assert (ended.status, ended.error) == (DeploymentStatus.failed, "Interrupted")
        assert "interrupted at step create_endpoint" in ended.cause and "deploy again" in ended.cause
        assert retraining.require_retrain(deps, "halfway", retrain.id).status == RetrainStatus.failed
        assert deployments.require_deployment(deps, "between", second.id).status == DeploymentStatus.failed
        actions = {(e.actor, e.action) for e in deps.audit.all_events("halfway")}
        assert {("system:recovery", "deployment.fail"), ("system:recovery", "retrain.failed")} <= actions
        assert {d["id"] for d in report.deployments} == {stuck.id, second.id}
        # the alias is free again: the next deployment is accepted
        assert deployments.start_deployment(deps, ADMIN, DeploymentsSettings().rules(), NoWorkflow(), "halfway",
                                            NewDeployment(version="1.0.0", alias="staging")).status.value == "pending"
        # the unknown platform endpoint is gone, the foreign one left alone, both reported
        sm = platform.client("sagemaker")
        names = {e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]}
        wait_for(lambda: unknown not in {e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]},
                 30, 0.1, "the unknown endpoint to be deleted")
        assert foreign in names
        actions_by_endpoint = {e["endpoint"]: e["action"] for e in report.endpoints}
        assert actions_by_endpoint[unknown] == "deleted" and actions_by_endpoint[foreign] == "left alone"
        assert any(e.action == "recovery.endpoint_deleted" for e in deps.audit.all_events("platform"))
        # the endpoint serves what its alias says again
        assert actions_by_endpoint[endpoint] == "rolled back"
        def rolled_back() -> bool:
            found = sm.describe_endpoint(EndpointName=endpoint)
            return found["EndpointStatus"] == "InService" and found["EndpointConfigName"] == resource_name(
                endpoint, first.id)

        wait_for(rolled_back, 60, 0.2, "the rollback")
        answer = httpx.post(f"{platform.api_url}/v1/models/between/versions/staging/invocations",
                            content=json.dumps([[1.0, 2.0]]),
                            headers={"Authorization": f"Bearer {platform.admin_key}", "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [3.0]  # 1.0.0 (offset 0), not 1.1.0 (offset 100)
        assert any(e.action == "recovery.endpoint_rolled_back" for e in deps.audit.all_events("between"))
        written = json.loads((state / "recovery.json").read_text())
        assert written["finished"] and {d["id"] for d in written["deployments"]} == {stuck.id, second.id}
    finally:
        platform.stop()
