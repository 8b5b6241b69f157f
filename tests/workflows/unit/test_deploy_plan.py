"""The deploy plan: names within SageMaker's limits and the stage's IAM prefix, polling budget."""

from __future__ import annotations

import pytest

from functions.core.endpoints import EndpointSettings, TrafficStrategy, endpoint_name
from functions.workflows.deploy_plan import build_plan, max_polls, poll_schedule, resource_name


@pytest.mark.parametrize("model", ["churn", "a" * 48])
def test_resource_names_fit_and_keep_the_prefix(model):
    endpoint = endpoint_name("prod", model, "production")
    name = resource_name(endpoint, "20250101-120000-a1b2c3")
    assert len(name) <= 63 and name.startswith("mp-prod-")
    assert name != resource_name(endpoint, "20250101-120000-a1b2c4")
    assert name == resource_name(endpoint, "20250101-120000-a1b2c3")


def test_polling_budget_covers_the_strategy():
    canary = EndpointSettings(strategy=TrafficStrategy(type="canary", percent=10, wait_seconds=600))
    linear = EndpointSettings(strategy=TrafficStrategy(type="linear", percent=25, wait_seconds=60))
    for settings, budget in ((canary, 3600 + 2 * 600), (linear, 3600 + 4 * 60)):
        schedule = poll_schedule(settings, 30)
        assert schedule.budget_seconds == budget
        polls = max_polls(settings, 30)
        waited = sum(schedule.wait_seconds(n) for n in range(1, polls + 1))
        assert budget <= waited <= budget + 11 * schedule.cap  # the budget, and the slack polls
    assert max_polls(EndpointSettings(), 0) >= 10


def state(**extra):
    return {"deployment_id": "20250101-120000-a1b2c3", "model": "churn", "version": "1.2.0", "alias": "production",
            "endpoint": "mp-test-churn-production", "poll_seconds": 2,
            "settings": EndpointSettings(instance_type="ml.g5.xlarge", initial_instance_count=2, max_instances=4,
                                         data_capture_percent=0, max_batch_size=8).model_dump(mode="json"),
            **extra}  # fmt: skip


def test_a_first_deployment_creates():
    plan = build_plan(state(), image="gpu-image", allow_pickle=False, model_data_url="s3://a/m.tar.gz",
                      current=None, current_config=None, role_arn="arn:aws:iam::1:role/modelport/test/mp-test-churn")
    assert plan["update"] is False and plan["previous_config"] is None
    assert plan["role_arn"] == "arn:aws:iam::1:role/modelport/test/mp-test-churn"  # CreateModel's ExecutionRoleArn
    assert plan["container"] == {"Image": "gpu-image", "ModelDataUrl": "s3://a/m.tar.gz", "Environment": {
        "MODELPORT_MAX_BATCH_SIZE": "8", "MODELPORT_MAX_LATENCY_MS": "5.0", "MODELPORT_MODEL": "churn",
        "MODELPORT_VERSION": "1.2.0", "MODELPORT_ALLOW_PICKLE": "false"}}
    assert plan["variants"] == [{"VariantName": "AllTraffic", "ModelName": plan["model_name"],
                                 "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}]
    assert plan["capture"] == {"enabled": False, "percent": 0}
    assert (plan["poll_seconds"], plan["max_polls"]) == (2, max_polls(EndpointSettings(), 2))


def test_an_existing_endpoint_is_updated_and_its_config_remembered():
    current = {"EndpointConfigName": "mp-test-churn-production-old", "EndpointStatus": "InService"}
    config = {"ProductionVariants": [{"InstanceType": "ml.m5.large"}]}
    plan = build_plan(state(max_polls=3), image="i", allow_pickle=True, model_data_url="s3://a/m", current=current,
                      current_config=config, role_arn="r")
    assert plan["container"]["Environment"]["MODELPORT_ALLOW_PICKLE"] == "true"
    assert plan["update"] is True
    assert (plan["previous_config"], plan["previous_instance_type"], plan["max_polls"]) == (
        "mp-test-churn-production-old", "ml.m5.large", 3)


def test_the_update_timeout_follows_the_strategy():
    """MaximumExecutionTimeoutInSeconds bounds the whole blue/green update (600-28,800 s):
    the strategy's bakes plus the new fleet's start, never SageMaker's default."""
    from functions.core.endpoints import EndpointSettings, TrafficStrategy

    cases = {"canary:10%:600s": 2 * 600 + 3600, "linear:25%:60s": 4 * 60 + 3600, "all_at_once": 300 + 3600,
             "linear:10%:2520s": 28_800}
    for text, timeout in cases.items():
        settings = EndpointSettings(strategy=TrafficStrategy.parse(text))
        policy = settings.deployment_config([])["BlueGreenUpdatePolicy"]
        assert policy["MaximumExecutionTimeoutInSeconds"] == timeout, text
    quick = EndpointSettings(strategy=TrafficStrategy(type="all_at_once", wait_seconds=0))
    assert quick.deployment_config([])["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] == 3600
