"""Blue/green traffic shifting and baking, as SageMaker's deployment guardrails do it.

* ALL_AT_ONCE: all traffic to green, then one baking period.
* CANARY: the canary share to green, bake; then all traffic, and a final bake.
* LINEAR: shares grow by the step size, baking after each step, up to all traffic.

During every baking period the named auto-rollback alarms are read from the embedded
CloudWatch. Local mode publishes no CloudWatch metrics, so alarms only fire when
something sets their state; the local SageMaker therefore also rolls back when the green
fleet's share of failed invocations (5xx answers, no answer; never 4xx) during a bake exceeds `rollback_error_rate` (after at
least `rollback_min_invocations` reached green), and when a green instance exits.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.core.rollback import error_rate_breached
from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.fleet import FleetSet
from modelport.local.sagemaker.processes import log_reference
from modelport.local.settings import LocalSettings


@dataclass(frozen=True)
class Plan:
    """What one UpdateEndpoint's DeploymentConfig asks for."""

    kind: str
    shares: tuple[float, ...]
    wait_s: float
    termination_wait_s: float
    alarms: tuple[str, ...]


def plan(deployment_config: dict | None, green_instances: int) -> Plan:
    config = deployment_config or {}
    policy = config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
    kind = routing.get("Type", "ALL_AT_ONCE")
    alarms = tuple(a["AlarmName"] for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", []))
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    shares: tuple[float, ...] = (1.0,)
    if kind == "CANARY":
        shares = (_share(routing.get("CanarySize"), green_instances), 1.0)
    elif kind == "LINEAR":
        step = _share(routing.get("LinearStepSize"), green_instances)
        count = math.ceil(1 / step)
        shares = tuple(min(1.0, step * (i + 1)) for i in range(count))
    return Plan(kind, shares, wait, float(policy.get("TerminationWaitInSeconds", 0)), alarms)


def _share(size: dict | None, green_instances: int) -> float:
    """A CapacitySize as a share of traffic: percent of green capacity, or instances of it."""
    size = size or {"Type": "CAPACITY_PERCENT", "Value": 10}
    if size.get("Type") == "INSTANCE_COUNT":
        return min(1.0, max(1, int(size["Value"])) / max(1, green_instances))
    return min(1.0, max(1.0, float(size["Value"])) / 100.0)


class Baker:
    """Watches the green fleet during a baking period; says why to roll back, if it must."""

    def __init__(
        self, settings: LocalSettings, clock: Clock, alarm_states: Callable[[list[str]], dict[str, str]]
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._alarm_states = alarm_states

    def bake(
        self, green: FleetSet, seconds: float, alarms: tuple[str, ...], cancel: threading.Event
    ) -> str | None:
        """Bake for `seconds`; the rollback reason, or None when green stayed healthy."""
        start_invocations, start_errors = green.counts
        deadline = self._clock.monotonic() + seconds
        while True:
            reason = self._check(green, alarms, start_invocations, start_errors)
            if reason:
                return reason
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return None
            if self._clock.sleep(min(self._settings.bake_check_s, remaining), cancel):
                return "The update was cancelled."

    def _check(
        self, green: FleetSet, alarms: tuple[str, ...], invocations0: int, errors0: int
    ) -> str | None:
        if alarms:
            states = self._alarm_states(list(alarms))
            firing = [name for name in alarms if states.get(name) == "ALARM"]
            if firing:
                return f"Auto-rollback alarm(s) in ALARM state: {', '.join(firing)}."
        for fleet in green.fleets.values():
            dead = [i for i in fleet.instances if not i.alive]
            if dead:
                return (
                    f"A new instance of variant {fleet.variant_name} exited during baking; "
                    f"see {log_reference(dead[0].log_path)}"
                )
        invocations, errors = green.counts
        calls, failed = invocations - invocations0, errors - errors0
        threshold = self._settings.rollback_error_rate
        if error_rate_breached(calls, failed, rate=threshold, minimum=self._settings.rollback_min_invocations):
            return (
                f"The new fleet failed {failed} of {calls} invocations during baking "
                f"(more than {threshold:.0%}; local mode's stand-in for CloudWatch alarms)."
            )
        return None


def cloudwatch_alarm_states(cloudwatch: Callable[[], Any]) -> Callable[[list[str]], dict[str, str]]:
    def states(names: list[str]) -> dict[str, str]:
        found = cloudwatch().describe_alarms(AlarmNames=names).get("MetricAlarms", [])
        return {alarm["AlarmName"]: alarm["StateValue"] for alarm in found}

    return states
