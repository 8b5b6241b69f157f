import re

import pytest
from pydantic import ValidationError

from functions.core.endpoints import (
    EndpointSettings,
    TrafficStrategy,
    endpoint_name,
    is_gpu_instance,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all_at_once", TrafficStrategy()),
        ("canary:10%:60s", TrafficStrategy(type="canary", percent=10, wait_seconds=60)),
        ("linear:25:2m", TrafficStrategy(type="linear", percent=25, wait_seconds=120)),
    ],
)
def test_strategy_parses_cli_form(text, expected):
    assert TrafficStrategy.parse(text) == expected


@pytest.mark.parametrize("text", ["canary", "sideways:10%:5s", "canary:0%:5s", "all_at_once:10%"])
def test_strategy_rejects_bad_forms(text):
    with pytest.raises(ValueError):
        TrafficStrategy.parse(text)


def test_canary_renders_sagemaker_deployment_config():
    settings = EndpointSettings(strategy=TrafficStrategy.parse("canary:10%:60s"))
    config = settings.deployment_config(["a-5xx", "a-latency"])
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": 60,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    }
    assert config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "a-5xx"},
        {"AlarmName": "a-latency"},
    ]


def test_gpu_families():
    assert is_gpu_instance("ml.g5.xlarge") and is_gpu_instance("ml.g6.xlarge")
    assert not is_gpu_instance("ml.m5.large") and not is_gpu_instance("ml.inf2.xlarge")
    assert EndpointSettings(instance_type="ml.g6.xlarge").gpu


def test_bounds_are_checked():
    with pytest.raises(ValidationError, match="min_instances"):
        EndpointSettings(min_instances=3, max_instances=2, initial_instance_count=2)
    with pytest.raises(ValidationError, match="initial_instance_count"):
        EndpointSettings(min_instances=1, max_instances=2, initial_instance_count=5)


def test_endpoint_name_is_stable_and_bounded():
    # readable, then 16 hex digits of the (stage, model, alias) triple (test_endpoint_ownership.py)
    assert re.fullmatch(r"mp-dev-churn-production-[0-9a-f]{16}", endpoint_name("dev", "churn", "production"))
    long = endpoint_name("dev", "m" * 80, "production")
    assert len(long) <= 63 and long == endpoint_name("dev", "m" * 80, "production")
    assert long != endpoint_name("dev", "m" * 80, "staging")
