"""The deploy workflow (deploy.asl.json in moto's interpreter) against the local SageMaker,
started through the API like `modelport deploy`: first deploy, canary update, rollback."""

from __future__ import annotations

import threading

import pytest

from functions.core.endpoints import endpoint_name
from tests.workflows.asl_requests import validated_tasks
from tests.workflows.local.conftest import deploy, invoke

FIRST_DEPLOY_STEPS = ["queued", "validate", "create_model", "prepare_rollout", "create_endpoint",
                      "wait_endpoint", "autoscaling", "move_alias", "flush_cache", "done"]


def test_first_deploy_then_canary_update(platform, api, publish, events, flushes, unique):
    model = f"churn-{unique}"
    endpoint = endpoint_name("local", model, "production")
    publish(model, "1.0.0", offset=1.0)
    before = flushes()

    first = deploy(api, model, "1.0.0", min_instances=1, max_instances=3, target_invocations_per_instance=50)
    assert first["status"] == "succeeded", first
    assert [s["step"] for s in first["steps"]] == FIRST_DEPLOY_STEPS
    assert (first["endpoint"], first["previous_version"]) == (endpoint, None)
    assert invoke(api, model, [[1, 2, 3]]).json() == {"predictions": [7.0]}
    alias = {a["alias"]: a for a in api.get(f"/v1/models/{model}/aliases").json()["items"]}["production"]
    assert (alias["version"], alias["endpoint"]) == ("1.0.0", endpoint)
    assert flushes() == before + 1  # the alias moved: cached routing answers are gone

    sagemaker = platform.client("sagemaker")
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{platform.names.captures_bucket}/{endpoint}"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    scaling = platform.client("application-autoscaling")
    [target] = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/AllTraffic"])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    [policy] = [p for p in scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
                if p["ResourceId"] == target["ResourceId"]]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 50.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    alarms = platform.client("cloudwatch").describe_alarms(AlarmNamePrefix=endpoint)["MetricAlarms"]
    assert sorted(m["MetricStat"]["Metric"]["MetricName"] for a in alarms for m in a["Metrics"] if "MetricStat" in m) == [
        "Invocation5XXErrors", "Invocations", "Invocations", "ModelLatency"]

    # the update moves to a GPU instance type: Modelport's GPU image, autoscaling lifted and re-applied
    publish(model, "1.1.0", offset=10.0)
    second = deploy(api, model, "1.1.0", instance_type="ml.g5.xlarge", max_instances=2,
                    strategy={"type": "canary", "percent": 50, "wait_seconds": 1})
    assert second["status"] == "succeeded", second
    assert "update_endpoint" in [s["step"] for s in second["steps"]]
    assert second["previous_version"] == "1.0.0"
    assert invoke(api, model, [[1, 2, 3]]).json() == {"predictions": [16.0]}
    assert flushes() == before + 2
    updated = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert updated["EndpointConfigName"] != described["EndpointConfigName"]
    [variant] = sagemaker.describe_endpoint_config(EndpointConfigName=updated["EndpointConfigName"])["ProductionVariants"]
    assert variant["InstanceType"] == "ml.g5.xlarge"
    image = sagemaker.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]["Image"]
    assert image == platform.settings.image("gpu")
    [target] = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[target["ResourceId"]])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)

    announced = [(e["detail-type"], e["detail"].get("version")) for e in events()
                 if e["detail"].get("model") == model and e["detail-type"].startswith("Deployment")]
    assert announced == [("Deployment Succeeded", "1.0.0"), ("Deployment Succeeded", "1.1.0")]
    # production history: one period per deployment, moved by the workflow, the second closing the first
    periods = api.get(f"/v1/models/{model}/aliases/production/history").json()["items"]
    assert [(p["version"], p["deployment_id"], p["endpoint"]) for p in periods] == [
        ("1.1.0", second["id"], endpoint), ("1.0.0", first["id"], endpoint)]
    assert periods[1]["end"] == periods[0]["start"] and periods[0]["end"] is None
    assert {p["moved_by"] for p in periods} == {"system:deploy"}

    # every SageMaker request the ASL's native Tasks sent, as resolved from these runs' state
    # inputs, is valid for botocore's service model (tests/workflows/asl_requests.py)
    sfn = platform.client("stepfunctions")
    machine = platform.names.state_machine_arn(platform.settings, platform.names.deploy_state_machine)
    checked = set().union(*(validated_tasks(sfn, f"{machine.replace(':stateMachine:', ':execution:')}:{run['id']}")
                            for run in (first, second)))
    assert checked == {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint"}


def test_a_failing_new_variant_rolls_back_and_production_keeps_serving(platform, api, publish, events, flushes,
                                                                      unique):
    model = f"churn-{unique}"
    publish(model, "1.0.0", offset=1.0)
    assert deploy(api, model, "1.0.0")["status"] == "succeeded"
    publish(model, "2.0.0", failing=True)
    before = flushes()
    answers: list[int] = []
    stop = threading.Event()

    def traffic() -> None:  # production traffic while the canary bakes; green fails every request
        while not stop.is_set():
            answers.append(invoke(api, model, [[1, 2, 3]]).status_code)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        failed = deploy(api, model, "2.0.0", strategy={"type": "canary", "percent": 50, "wait_seconds": 5})
    finally:
        stop.set()
        sender.join()
    assert failed["status"] == "failed", failed
    assert (failed["step"], failed["error"]) == ("wait_endpoint", "EndpointRolledBack")
    assert "keeps serving" in failed["cause"] and "failed" in failed["cause"]
    assert 200 in answers and any(code >= 400 for code in answers)  # blue answered, green failed
    alias = {a["alias"]: a for a in api.get(f"/v1/models/{model}/aliases").json()["items"]}["production"]
    assert alias["version"] == "1.0.0"
    assert [invoke(api, model, [[1, 2, 3]]).json() for _ in range(4)] == [{"predictions": [7.0]}] * 4
    assert flushes() == before  # the alias did not move
    periods = api.get(f"/v1/models/{model}/aliases/production/history").json()["items"]
    assert [(p["version"], p["end"]) for p in periods] == [("1.0.0", None)]
    [announced] = [e["detail"] for e in events()
                   if e["detail-type"] == "Deployment Failed" and e["detail"]["model"] == model]
    assert (announced["version"], announced["serving_version"], announced["error"]) == (
        "2.0.0", "1.0.0", "EndpointRolledBack")
    actions = [e["action"] for e in api.get("/v1/audit", params={"chain": model, "limit": 3}).json()["items"]]
    assert actions[0] == "deployment.fail"


def test_refusals_before_and_inside_the_workflow(platform, api, publish, unique):
    model = f"churn-{unique}"
    publish(model, "1.0.0", approve=False)
    too_big = api.post(f"/v1/models/{model}/deployments",
                       json={"version": "1.0.0", "alias": "staging", "settings": {"instance_type": "ml.p5.48xlarge"}})
    assert too_big.status_code == 400
    assert too_big.json()["error"]["code"] == "InstanceTypeNotAllowed"
    assert "ml.p5.48xlarge" in too_big.json()["error"]["message"]
    unapproved = api.post(f"/v1/models/{model}/deployments", json={"version": "1.0.0"})
    assert (unapproved.status_code, unapproved.json()["error"]["code"]) == (409, "ApprovalRequired")
    assert api.get(f"/v1/models/{model}/deployments").json()["items"] == []

    # approved (so its artifact was verified on submit), then the object is deleted
    published = publish(model, "1.1.0")
    bucket, key = published.artifact.uri.split("/", 3)[2:]
    platform.client("s3").delete_object(Bucket=bucket, Key=key)
    failed = deploy(api, model, "1.1.0", alias="staging")
    assert (failed["status"], failed["step"], failed["error"]) == ("failed", "validate", "ArtifactNotVerified")
    assert "no artifact uploaded" in failed["cause"]
    endpoints = platform.client("sagemaker").list_endpoints(NameContains=model)["Endpoints"]
    assert endpoints == []


@pytest.mark.parametrize("bad", ["nope", "20250101-120000-zzzzzz"])
def test_unknown_deployments_are_404_or_400(api, publish, unique, bad):
    model = f"churn-{unique}"
    publish(model, "1.0.0", approve=False, upload=False)
    reply = api.get(f"/v1/models/{model}/deployments/{bad}")
    assert reply.status_code == 400
    missing = api.get(f"/v1/models/{model}/deployments/20250101-120000-abcdef")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "DeploymentNotFound")
