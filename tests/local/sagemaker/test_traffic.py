"""Traffic plans of blue/green updates and the deterministic weighted choice (no processes)."""

from __future__ import annotations

import pytest

from modelport.local.sagemaker.deployment import plan
from modelport.local.sagemaker.fleet import WeightedChooser


def routing(kind: str, **fields) -> dict:
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": kind, **fields},
                                      "TerminationWaitInSeconds": 30},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}, {"AlarmName": "b"}]}}


def test_no_deployment_config_is_all_at_once_without_baking():
    steps = plan(None, green_instances=2)
    assert (steps.kind, steps.shares, steps.wait_s, steps.termination_wait_s, steps.alarms) == (
        "ALL_AT_ONCE", (1.0,), 0.0, 0.0, ())


@pytest.mark.parametrize(("config", "green", "shares"), [
    (routing("ALL_AT_ONCE", WaitIntervalInSeconds=60), 2, (1.0,)),
    (routing("CANARY", WaitIntervalInSeconds=60, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 10}),
     2, (0.1, 1.0)),
    (routing("CANARY", WaitIntervalInSeconds=60, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1}),
     4, (0.25, 1.0)),
    (routing("LINEAR", WaitIntervalInSeconds=60, LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 30}),
     2, (0.3, 0.6, 0.9, 1.0)),
    (routing("LINEAR", WaitIntervalInSeconds=60, LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 1}),
     2, (0.5, 1.0)),
])
def test_traffic_shares_follow_the_routing_configuration(config, green, shares):
    steps = plan(config, green_instances=green)
    assert steps.shares == pytest.approx(shares)
    assert (steps.wait_s, steps.termination_wait_s, steps.alarms) == (60.0, 30.0, ("a", "b"))


@pytest.mark.parametrize("weights", [{"blue": 0.9, "green": 0.1}, {"a": 1.0, "b": 2.0, "c": 1.0}])
def test_weighted_choices_keep_every_window_within_one_of_its_share(weights):
    chooser = WeightedChooser()
    picks = [chooser.choose(weights) for _ in range(400)]
    total = sum(weights.values())
    for size in (10, 40, 400):
        for start in range(0, 400 - size + 1, size):
            window = picks[start : start + size]
            for key, weight in weights.items():
                assert abs(window.count(key) - size * weight / total) <= 1.0
