"""Deploy steps one by one: what each reads, writes and raises (ASL Catch matches the names)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from functions.core import deployments, execution_scope, governance
from functions.core.deployments import workflow_context
from functions.core.errors import (
    ArtifactNotVerified,
    EndpointBusy,
    EndpointFailed,
    EndpointRolledBack,
    EndpointTimedOut,
)
from functions.core.models import Alias
from functions.workflows import deploy_steps
from tests.conftest import ARTIFACTS
from tests.workflows.steps.conftest import CPU, GPU, SHARED_ROLE, clients

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def endpoint(name: str, status: str, config: str, reason: str | None = None, pending: str | None = None) -> dict:
    found = {"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
             "EndpointConfigName": config, "EndpointStatus": status, "CreationTime": NOW, "LastModifiedTime": NOW}
    if reason:
        found["FailureReason"] = reason
    if pending:
        found["PendingDeploymentSummary"] = {"EndpointConfigName": pending}
    return found


def missing(stub, name: str) -> None:
    stub.add_client_error("describe_endpoint", service_error_code="ValidationException",
                          service_message=f'Could not find endpoint "{name}".', expected_params={"EndpointName": name})


def record(env, state) -> deployments.Deployment:
    return deployments.require_deployment(env.deps, "churn", state["deployment_id"], consistent=True)


def test_validate_plans_a_creation_on_the_family_image(env, stubbed, started):
    state = started(instance_type="ml.g5.xlarge")
    missing(stubbed["sagemaker"], state["endpoint"])
    plan = deploy_steps.validate(state, env)
    assert (plan["update"], plan["container"]["Image"]) == (False, GPU)
    assert plan["container"]["ModelDataUrl"] == "s3://modelport-test-artifacts/models/churn/1.0.0/model.tar.gz"
    assert record(env, state).step == "create_model"


def test_validate_runs_the_model_under_a_role_of_its_own(env, stubbed, started):
    """Issue 10: per-model execution roles, created with the stage's boundary under its path."""
    iam = clients("iam")
    boundary = iam.create_policy(PolicyName="mp-test-boundary", PolicyDocument=json.dumps(
        execution_scope.boundary_policy(execution_scope.Targets(
            partition="aws", region="us-east-1", account="123456789012", stage="test", artifacts_bucket=ARTIFACTS,
            datasets_bucket="ds", captures_bucket="caps")))
    )["Policy"]["Arn"]
    scoped = dataclasses.replace(env, settings=env.settings.model_copy(update={
        "execution_role_boundary_arn": boundary, "datasets_bucket": "ds", "captures_bucket": "caps"}))
    state = started()
    for _ in range(2):  # a second deployment finds the role and puts the policy again
        missing(stubbed["sagemaker"], state["endpoint"])
        plan = deploy_steps.validate(state, scoped)
    role = iam.get_role(RoleName="mp-test-churn")["Role"]
    assert plan["role_arn"] == role["Arn"] and role["Path"] == "/modelport/test/"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert json.loads(json.dumps(role["AssumeRolePolicyDocument"]))["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"}
    policy = iam.get_role_policy(RoleName="mp-test-churn", PolicyName="model-scope")["PolicyDocument"]
    resources = json.dumps(policy)
    assert f"arn:aws:s3:::{ARTIFACTS}/models/churn/*" in resources and "arn:aws:s3:::ds/datasets/churn/*" in resources
    assert f"arn:aws:s3:::caps/{state['endpoint']}/*" in resources
    assert "models/*" not in resources and "datasets/*" not in resources  # nothing of other models
    # without per-model roles configured, the shared role (as before)
    missing(stubbed["sagemaker"], state["endpoint"])
    assert deploy_steps.validate(state, env)["role_arn"] == SHARED_ROLE


def test_validate_plans_an_update_of_an_endpoint_in_service(env, stubbed, started):
    state = started()
    sm = stubbed["sagemaker"]
    sm.add_response("describe_endpoint", endpoint(state["endpoint"], "InService", "old-config"))
    sm.add_response("describe_endpoint_config", {
        "EndpointConfigName": "old-config", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/old",
        "CreationTime": NOW, "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m",
                                                     "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1}],
    }, {"EndpointConfigName": "old-config"})
    plan = deploy_steps.validate(state, env)
    assert (plan["update"], plan["previous_config"], plan["previous_instance_type"]) == (True, "old-config", "ml.c5.xlarge")
    assert plan["container"]["Image"] == CPU


def test_validate_refuses_a_busy_endpoint_and_an_unverified_artifact(env, stubbed, started):
    state = started()
    stubbed["sagemaker"].add_response("describe_endpoint", endpoint(state["endpoint"], "Updating", "c"))
    with pytest.raises(EndpointBusy, match="is Updating"):
        deploy_steps.validate(state, env)
    with pytest.raises(ArtifactNotVerified):
        deploy_steps.validate(started("1.1.0", alias="canary", upload=False), env)  # one per alias at a time


def test_prepare_rollout_creates_the_alarms_and_the_deployment_config(env, started):
    state = started(strategy={"type": "linear", "percent": 25, "wait_seconds": 60}, latency_alarm_ms=250)
    state["plan"] = {"endpoint": state["endpoint"], "update": False}
    rollout = deploy_steps.prepare_rollout(state, env)
    alarms = clients("cloudwatch").describe_alarms(AlarmNamePrefix=state["endpoint"])["MetricAlarms"]
    assert {a["AlarmName"]: a["Threshold"] for a in alarms} == {
        f"{state['endpoint']}-error-rate": 0.05, f"{state['endpoint']}-model-latency": 250_000.0,
    }
    # a rate of 5xx answers over a minimum sample, never a count of one; 4xx never count
    errors = next(a for a in alarms if a["AlarmName"].endswith("-error-rate"))
    by_id = {m["Id"]: m for m in errors["Metrics"]}
    assert by_id["rate"]["Expression"] == "IF(invocations >= 20, errors / invocations, 0)"
    assert by_id["errors"]["MetricStat"]["Metric"]["MetricName"] == "Invocation5XXErrors"
    assert by_id["invocations"]["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    assert errors["ComparisonOperator"] == "GreaterThanThreshold"
    config = rollout["deployment_config"]
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "LINEAR"
    assert [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]] == rollout["alarms"]
    assert rollout["scaling_removed"] is None
    assert record(env, state).step == "create_endpoint"


@pytest.mark.parametrize(("alias", "notified"), [("production", True), ("staging", False)])
def test_rollback_alarms_of_production_endpoints_notify_the_stages_alarm_topic(env, started, alias, notified):
    """The operators hear of a production endpoint's alarm (and of its return to OK) through
    the stage's alarm topic (the Data stack's; MODELPORT_ALARM_TOPIC_ARN)."""
    topic = "arn:aws:sns:us-east-1:123456789012:Modelport-test-alarms"
    env = dataclasses.replace(env, settings=env.settings.model_copy(update={"alarm_topic_arn": topic}))
    state = started(alias=alias)
    state["plan"] = {"endpoint": state["endpoint"], "update": False}
    deploy_steps.prepare_rollout(state, env)
    alarms = clients("cloudwatch").describe_alarms(AlarmNamePrefix=state["endpoint"])["MetricAlarms"]
    assert len(alarms) == 2
    for alarm in alarms:
        assert (alarm["AlarmActions"], alarm["OKActions"]) == (([topic], [topic]) if notified else ([], []))


@pytest.mark.parametrize("previous", ["ml.m5.large", "ml.c5.xlarge"])
def test_an_instance_type_change_lifts_autoscaling_first(env, started, previous):
    state = started(instance_type="ml.m5.large")
    scaling = clients("application-autoscaling")
    rid = f"endpoint/{state['endpoint']}/variant/AllTraffic"
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, MinCapacity=2, MaxCapacity=5,
                                     ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    state["plan"] = {"endpoint": state["endpoint"], "update": True, "previous_instance_type": previous}
    rollout = deploy_steps.prepare_rollout(state, env)
    left = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
    if previous == "ml.m5.large":
        assert rollout["scaling_removed"] is None and len(left) == 1
    else:
        assert rollout["scaling_removed"] == {"min_instances": 2, "max_instances": 5, "target_invocations": None}
        assert left == []


@pytest.mark.parametrize(
    ("status", "config", "polls", "outcome"),
    [
        ("InService", "ours", 0, {"ready": True, "polls": 1, "status": "InService"}),
        # the wait grows from the plan's 5 s, but never past the cap (5 s for this short budget)
        ("Updating", "old", 3, {"ready": False, "polls": 4, "status": "Updating", "wait_seconds": 5}),
        ("Creating", "ours", 9, EndpointTimedOut),
        ("InService", "old", 2, EndpointRolledBack),
        ("Failed", "ours", 0, EndpointFailed),
    ],
)
def test_check_endpoint(env, stubbed, started, status, config, polls, outcome):
    state = started()
    state["plan"] = {"endpoint": state["endpoint"], "config_name": "ours", "previous_config": "old", "max_polls": 10,
                     "poll_seconds": 5}
    state["endpoint_status"] = {"polls": polls}
    stubbed["sagemaker"].add_response("describe_endpoint", endpoint(state["endpoint"], status, config, "alarm fired"))
    if isinstance(outcome, dict):
        assert deploy_steps.check_endpoint(state, env) == outcome
    else:
        with pytest.raises(outcome):
            deploy_steps.check_endpoint(state, env)
    assert record(env, state).step == "wait_endpoint"


def test_check_endpoint_records_the_rollout_it_sees(env, stubbed, started):
    state = started(strategy={"type": "canary", "percent": 25, "wait_seconds": 30})
    state["plan"] = {"endpoint": state["endpoint"], "config_name": "ours", "previous_config": "old", "max_polls": 10,
                     "poll_seconds": 5}

    def poll(status: str, at: int, message: str) -> dict:
        found = endpoint(state["endpoint"], "Updating", "old")
        found["PendingDeploymentSummary"] = {"EndpointConfigName": "ours", "ProductionVariants": [
            {"VariantName": "AllTraffic", "VariantStatus": [{"Status": status, "StatusMessage": message,
                                                             "StartTime": NOW.replace(second=at)}]}]}
        stubbed["sagemaker"].add_response("describe_endpoint", found)
        return deploy_steps.check_endpoint(state, env)

    assert poll("Creating", 1, "green fleet")["ready"] is False
    assert (record(env, state).rollout.status, record(env, state).rollout.traffic_percent) == ("Creating", 0)
    poll("Baking", 5, "canary bakes")
    rollout = record(env, state).rollout
    assert (rollout.status, rollout.bakes, rollout.traffic_percent, rollout.since) == ("Baking", 1, 25, NOW.replace(second=5))
    poll("Baking", 5, "canary bakes")  # the same period again: nothing new is written
    poll("Baking", 40, "all traffic bakes")
    assert (record(env, state).rollout.bakes, record(env, state).rollout.traffic_percent) == (2, 100)


def test_autoscaling_alias_flush_and_finish(env, stubbed, started):
    state = started(min_instances=1, max_instances=4, target_invocations_per_instance=70)
    state["plan"] = {"endpoint": state["endpoint"]}
    deploy_steps.autoscaling(state, env)
    scaling = clients("application-autoscaling")
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
    moved = deploy_steps.move_alias(state, env)
    assert moved == {"alias": "staging", "version": "1.0.0", "endpoint": state["endpoint"]}
    stubbed["apigateway"].add_response("flush_stage_authorizers_cache", {}, {"restApiId": "api123", "stageName": "dev"})
    assert deploy_steps.flush_cache(state, env) == {"flushed": True}
    state["flush_error"] = {"Error": "ThrottlingException", "Cause": json.dumps({"errorMessage": "slow down"})}
    assert deploy_steps.finish(state, env) == {"status": "succeeded"}
    done = record(env, state)
    assert done.notes == ["the authorizer cache was not flushed (slow down); routing follows within its TTL"]
    assert [m.step for m in done.steps][-4:] == ["autoscaling", "move_alias", "flush_cache", "done"]


def failure(state: dict, error: str, message: str) -> dict:
    return {**state, "error": {"Error": error, "Cause": json.dumps({"errorMessage": message, "errorType": error,
                                                                     "stackTrace": ["..."]})}}


def test_mark_failed_before_anything_was_created(env, started):
    state = started()
    result = deploy_steps.mark_failed(failure(state, "ArtifactNotVerified", "no artifact"), env)
    assert result == {"status": "failed", "error": "ArtifactNotVerified"}
    failed = record(env, state)
    assert (failed.cause, failed.notes) == ("no artifact", [])


def test_mark_failed_deletes_an_endpoint_it_created(env, stubbed, started):
    state = started()
    state["plan"] = {"endpoint": state["endpoint"], "config_name": "ours", "update": False}
    sm = stubbed["sagemaker"]
    sm.add_response("describe_endpoint", endpoint(state["endpoint"], "Failed", "ours", "bad image"))
    sm.add_response("delete_endpoint", {}, {"EndpointName": state["endpoint"]})
    deploy_steps.mark_failed({**failure(state, "EndpointFailed", "bad image"), "failed_step": "wait_endpoint"}, env)
    failed = record(env, state)
    assert (failed.step, failed.error) == ("wait_endpoint", "EndpointFailed")
    assert failed.notes == [f"deleted endpoint {state['endpoint']}, which this deployment created and nothing served from"]


def test_mark_failed_after_the_switch_rolls_the_endpoint_back_and_restores_autoscaling(env, stubbed, started):
    state = started()
    state["plan"] = {"endpoint": state["endpoint"], "config_name": "ours", "update": True, "previous_config": "old"}
    state["rollout"] = {"scaling_removed": {"min_instances": 2, "max_instances": 3, "target_invocations": 9.0}}
    sm = stubbed["sagemaker"]
    sm.add_response("describe_endpoint", endpoint(state["endpoint"], "InService", "ours"))
    sm.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x"},
                    {"EndpointName": state["endpoint"], "EndpointConfigName": "old"})
    deploy_steps.mark_failed({**failure(state, "ApprovalRequired", "not approved"), "failed_step": "move_alias"}, env)
    failed = record(env, state)
    assert failed.notes == [f"rolled endpoint {state['endpoint']} back to old",
                            "restored the previous autoscaling of the endpoint"]
    [target] = clients("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 3)


def test_mark_failed_leaves_a_rolled_back_endpoint_and_a_completed_switch_alone(env, stubbed, started):
    state = started()
    state["plan"] = {"endpoint": state["endpoint"], "config_name": "ours", "update": True, "previous_config": "old"}
    stubbed["sagemaker"].add_response("describe_endpoint", endpoint(state["endpoint"], "InService", "old"))
    deploy_steps.mark_failed(failure(state, "EndpointRolledBack", "alarm"), env)
    assert record(env, state).notes == []
    # the alias already points at this version on this endpoint: nothing is undone (no SageMaker call)
    other = started("1.1.0")
    other["plan"] = {"endpoint": other["endpoint"], "config_name": "x", "update": True, "previous_config": "old"}
    governance.set_alias(env.deps, workflow_context("t"), "churn", "staging", "1.1.0", endpoint=other["endpoint"])
    assert env.deps.store.get(Alias.key_for("churn", "staging"), Alias).version == "1.1.0"
    deploy_steps.mark_failed(failure(other, "ThrottlingException", "recording success failed"), env)
    assert record(env, other).status == "failed" and record(env, other).notes == []
