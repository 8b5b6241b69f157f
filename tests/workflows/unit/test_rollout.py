"""The rollout a deployment shows: SageMaker's variant status and the new fleet's traffic share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.core.endpoints import TrafficStrategy
from functions.core.rollout import Rollout, next_rollout, observed_status, traffic_share

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("strategy", "shares"),
    [
        ("canary:10%:60s", [0, 10, 100, 100]),
        ("linear:30%:60s", [0, 30, 60, 90, 100, 100]),
        ("all_at_once", [0, 100, 100]),
    ],
)
def test_traffic_share_follows_the_strategy_bake_by_bake(strategy, shares):
    parsed = TrafficStrategy.parse(strategy)
    assert [traffic_share(parsed, bakes) for bakes in range(len(shares))] == shares


def test_each_new_baking_period_moves_the_share_and_repeated_polls_change_nothing():
    canary = TrafficStrategy.parse("canary:20%:5s")
    creating = next_rollout(None, canary, "Creating", "Launching the new (green) fleet.", T0)
    assert (creating.status, creating.bakes, creating.traffic_percent) == ("Creating", 0, 0)
    first = next_rollout(creating, canary, "Baking", "canary", T0 + timedelta(seconds=3))
    assert (first.bakes, first.traffic_percent, first.since) == (1, 20, T0 + timedelta(seconds=3))
    assert next_rollout(first, canary, "Baking", "canary", T0 + timedelta(seconds=3)) is None
    final = next_rollout(first, canary, "Baking", "all traffic", T0 + timedelta(seconds=9))
    assert (final.bakes, final.traffic_percent) == (2, 100)


def test_observed_status_reads_the_newest_variant_status():
    described = {"PendingDeploymentSummary": {"EndpointConfigName": "c", "ProductionVariants": [
        {"VariantName": "AllTraffic", "VariantStatus": [
            {"Status": "Creating", "StartTime": T0},
            {"Status": "Baking", "StatusMessage": "m", "StartTime": T0 + timedelta(seconds=1)}]}]}}
    assert observed_status(described) == ("Baking", "m", T0 + timedelta(seconds=1))
    assert observed_status({"EndpointStatus": "InService"}) is None
    assert observed_status({"PendingDeploymentSummary": {"EndpointConfigName": "c"}}) is None


def test_a_long_message_is_cut_to_sagemakers_limit():
    rollout = next_rollout(None, TrafficStrategy(), "Baking", "x" * 5000, None)
    assert isinstance(rollout, Rollout) and len(rollout.message) == 1024
