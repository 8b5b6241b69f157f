"""Blue/green UpdateEndpoint: success, rollback on an unhealthy fleet, canary traffic split,
alarm and error-rate rollbacks, and autoscaling of the instance count."""

from __future__ import annotations

import math

import pytest
from botocore.exceptions import ClientError

from modelport.local.testing import wait_endpoint, wait_for
from tests.local.sagemaker.conftest import predict


def processes(cloud, endpoint: str) -> list:
    runtime = cloud.sagemaker.endpoints.runtime(endpoint)
    return [i.process for f in runtime.blue.fleets.values() for i in f.instances]


def canary(percent: int, wait: int = 600, alarms: tuple[str, ...] = ()) -> dict:
    config: dict = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": wait,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent}}}}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def baking(sm, endpoint: str) -> dict:
    def state():
        pending = sm.describe_endpoint(EndpointName=endpoint).get("PendingDeploymentSummary")
        statuses = pending["ProductionVariants"][0]["VariantStatus"] if pending else []
        return pending if statuses and statuses[0]["Status"] == "Baking" else None

    return wait_for(state, 30, what=f"{endpoint} to bake")


@pytest.fixture
def clock(cloud):
    yield cloud.sagemaker.clock
    cloud.sagemaker.clock.release()


def test_update_replaces_the_fleet_and_stops_the_old_one(cloud, sm, runtime, endpoints, model, unique):
    name = f"bg-{unique}"
    endpoints(name, model("blue", offset=100))
    blue = processes(cloud, name)
    green = model("green", offset=200, count=2)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig={
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 30}}})
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    with pytest.raises(ClientError) as busy:
        sm.update_endpoint(EndpointName=name, EndpointConfigName=green)
    assert "in-progress" in busy.value.response["Error"]["Message"]
    described = wait_endpoint(sm, name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == green
    assert "FailureReason" not in described and "PendingDeploymentSummary" not in described
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert described["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert predict(runtime, name, [[1]]) == [201.0]
    wait_for(lambda: all(p.poll() is not None for p in blue), 15, what="the blue fleet to stop")


def test_a_fleet_that_never_becomes_healthy_is_rolled_back(
    cloud, sm, runtime, endpoints, model, unique, monkeypatch
):
    name = f"rb-{unique}"
    blue_config = model("good", offset=100)
    endpoints(name, blue_config)
    monkeypatch.setattr(cloud.settings, "health_timeout_s", 2.0)
    green_config = model("corrupt", offset=200, corrupt=True)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green_config)
    green_processes = wait_for(lambda: cloud.launcher.matching(green_config), 10, 0.01,
                               what="the green fleet to start")
    assert predict(runtime, name, [[1]]) == [101.0]  # blue keeps answering during the update
    described = wait_endpoint(sm, name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == blue_config
    assert "did not pass the ping health check" in described["FailureReason"]
    assert predict(runtime, name, [[1]]) == [101.0]
    assert all(p.poll() is not None for p in green_processes)


def test_a_canary_sends_its_share_of_requests_to_the_new_fleet(
    cloud, sm, runtime, endpoints, model, unique, clock
):
    name = f"canary-{unique}"
    endpoints(name, model("v1", offset=100))
    green = model("v2", offset=200)
    clock.hold()
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig=canary(25))
    pending = baking(sm, name)
    assert pending["EndpointConfigName"] == green
    assert "25%" in pending["ProductionVariants"][0]["VariantStatus"][0]["StatusMessage"]
    answers = [predict(runtime, name, [[1]])[0] for _ in range(40)]
    assert abs(answers.count(201.0) - 10) <= 1
    assert answers.count(101.0) + answers.count(201.0) == 40
    clock.release()
    described = wait_endpoint(sm, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", green)
    assert {predict(runtime, name, [[1]])[0] for _ in range(5)} == {201.0}


def test_an_alarm_in_alarm_during_baking_rolls_the_update_back(
    cloud, aws, sm, runtime, endpoints, model, unique, clock
):
    name, alarm = f"alarm-{unique}", f"latency-{unique}"
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, MetricName="ModelLatency", Namespace="AWS/SageMaker", Statistic="Average",
        Period=60, EvaluationPeriods=1, Threshold=1000.0, ComparisonOperator="GreaterThanThreshold")
    blue_config = model("v1", offset=100)
    endpoints(name, blue_config)
    clock.hold()
    sm.update_endpoint(EndpointName=name, EndpointConfigName=model("v2", offset=200),
                       DeploymentConfig=canary(50, alarms=(alarm,)))
    baking(sm, name)
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="p99 too high")
    clock.release()
    described = wait_endpoint(sm, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", blue_config)
    assert alarm in described["FailureReason"]
    assert {predict(runtime, name, [[1]])[0] for _ in range(4)} == {101.0}


def test_a_failing_new_fleet_is_rolled_back_on_its_error_rate(
    cloud, sm, runtime, endpoints, model, unique, clock
):
    name = f"errors-{unique}"
    blue_config = model("v1", offset=100)
    endpoints(name, blue_config)
    clock.hold()
    sm.update_endpoint(EndpointName=name, EndpointConfigName=model("v2", offset=200),
                       DeploymentConfig=canary(50))
    baking(sm, name)
    for _ in range(20):  # half reach green; every one fails: the rate is 100%
        with pytest.raises(ClientError):
            predict(runtime, name, [[-1]])
    clock.release()
    described = wait_endpoint(sm, name)
    assert described["EndpointConfigName"] == blue_config
    assert "failed 10 of 10 invocations" in described["FailureReason"]


def test_client_errors_never_roll_an_update_back(cloud, sm, runtime, endpoints, model, unique, clock):
    """Bad input is the caller's fault (4xx, SageMaker's Invocation4XXErrors): only server
    errors (Invocation5XXErrors) judge the new fleet, so no consumer can force a rollback."""
    name = f"bad-input-{unique}"
    blue_config = model("v1", offset=100)
    endpoints(name, blue_config)
    clock.hold()
    green = model("v2", offset=200)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig=canary(50))
    baking(sm, name)
    for _ in range(20):  # half reach green; each is a 400 from the container
        with pytest.raises(ClientError) as refused:
            runtime.invoke_endpoint(EndpointName=name, Body=b"{not json", ContentType="application/json")
        assert refused.value.response["OriginalStatusCode"] == 400
    clock.release()
    described = wait_endpoint(sm, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", green), described.get("FailureReason")


def test_twenty_lying_npy_bodies_during_a_bake_do_not_roll_it_back(cloud, sm, runtime, endpoints, model, unique, clock):
    """Issue 10, finding 6, as reproduced: `.npy` bodies whose header claims shape (1e11,) made
    the container run out of memory and answer 500; twenty during a bake rolled it back. They
    are 400s now (the declared size is checked first) and client errors never judge a fleet."""
    import io

    import numpy as np

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**11,)})
    lying = header.getvalue() + b"\0" * 16
    name = f"npy-bomb-{unique}"
    endpoints(name, model("v1", offset=100))
    clock.hold()
    green = model("v2", offset=200)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig=canary(50))
    baking(sm, name)
    for _ in range(20):
        with pytest.raises(ClientError) as refused:
            runtime.invoke_endpoint(EndpointName=name, Body=lying, ContentType="application/x-npy")
        assert refused.value.response["OriginalStatusCode"] == 400
        assert "declares shape (100000000000,)" in refused.value.response["OriginalMessage"]
    clock.release()
    described = wait_endpoint(sm, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", green), described.get("FailureReason")


@pytest.mark.parametrize("retain", [True, False])
def test_an_update_keeps_the_fleets_capacity_when_asked_to(cloud, sm, runtime, endpoints, model, unique, retain):
    """RetainAllVariantProperties keeps the variant's current (autoscaled) instance count
    across an update; without it the new fleet starts at InitialInstanceCount
    (API_UpdateEndpoint.html)."""
    name = f"retain-{unique}-{int(retain)}"
    endpoints(name, model("v1", count=1))
    assert cloud.sagemaker.endpoints.scale(name, "AllTraffic", 2)
    wait_for(lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
             and len(cloud.sagemaker.endpoints.runtime(name).blue.fleets["AllTraffic"].instances) == 2,
             30, what="the endpoint to scale to 2")
    green = model("v2", count=1, offset=5)
    extra = {"RetainAllVariantProperties": True,
             "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DataCaptureConfig"}]} if retain else {}
    sm.update_endpoint(EndpointName=name, EndpointConfigName=green, **extra)
    described = wait_endpoint(sm, name)
    assert described["EndpointConfigName"] == green
    instances = cloud.sagemaker.endpoints.runtime(name).blue.fleets["AllTraffic"].instances
    assert len(instances) == (2 if retain else 1)
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == (2 if retain else 1)


def test_scalable_target_bounds_and_target_tracking_set_the_instance_count(
    cloud, aws, sm, runtime, endpoints, model, unique, clock
):
    name = f"scale-{unique}"
    endpoints(name, model("scale", count=1))
    scaling = aws("application-autoscaling")
    resource = f"endpoint/{name}/variant/AllTraffic"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, MinCapacity=2, MaxCapacity=3,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount")

    def count() -> int:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] != "InService":
            return 0
        return described["ProductionVariants"][0]["CurrentInstanceCount"]

    wait_for(lambda: count() == 2, 30, what="the endpoint to scale to MinCapacity")
    scaling.put_scaling_policy(
        PolicyName=f"track-{unique}", ServiceNamespace="sagemaker", ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 5.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    autoscaler = cloud.sagemaker.autoscaler
    autoscaler.tick()  # the baseline of the invocation count
    for _ in range(12):
        predict(runtime, name, [[1]])
    clock.advance(60)
    asked = autoscaler.tick()
    assert asked[(name, "AllTraffic")] == min(3, math.ceil(12 / 5.0))
    wait_for(lambda: count() == 3, 30, what="target tracking to scale out to MaxCapacity")
    clock.advance(60)
    assert autoscaler.tick()[(name, "AllTraffic")] == 2  # no traffic: back to MinCapacity
    wait_for(lambda: count() == 2, 30, what="target tracking to scale in")


def test_no_request_fails_while_the_fleets_are_swapped(sm, runtime, endpoints, model, unique):
    import threading

    name = f"swap-{unique}"
    endpoints(name, model("v1", offset=100, count=2))
    answers: list[float] = []
    errors: list[Exception] = []
    done = threading.Event()

    def traffic() -> None:
        while not done.is_set():
            try:
                answers.append(predict(runtime, name, [[1]])[0])
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        wait_for(lambda: len(answers) > 5, 10, what="traffic to flow")
        sm.update_endpoint(EndpointName=name, EndpointConfigName=model("v2", offset=200, count=2))
        wait_endpoint(sm, name)
        wait_for(lambda: answers[-1] == 201.0, 10, what="the new fleet to answer")
    finally:
        done.set()
        sender.join()
    assert errors == []
    assert {101.0, 201.0} <= set(answers)
