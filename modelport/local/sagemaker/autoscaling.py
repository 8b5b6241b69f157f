"""Application Auto Scaling for local endpoints.

The scalable targets and policies stay in the embedded AWS (moto's implementation has the
right shapes and validation, and is snapshotted with the rest); this reads them:

* when a `sagemaker` target or policy changes (the front says so) and on every tick, a
  variant's instance count is clamped into the target's [MinCapacity, MaxCapacity];
* on every tick, a `SageMakerVariantInvocationsPerInstance` target-tracking policy sets
  the count to ceil(invocations per minute / TargetValue), from the invocations the local
  SageMaker counted since the previous tick (local mode has no CloudWatch metrics).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.endpoints import Endpoints

log = logging.getLogger(__name__)

_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_METRIC = "SageMakerVariantInvocationsPerInstance"


def parse_resource_id(resource_id: str) -> tuple[str, str] | None:
    parts = resource_id.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1], parts[3]
    return None


class Autoscaler:
    """Keeps variant instance counts within their scalable targets."""

    def __init__(self, client: Callable[[], Any], endpoints: Endpoints, clock: Clock) -> None:
        self._client = client
        self._endpoints = endpoints
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def scaling_changed(self, operation: str, request: dict) -> None:
        """The front's hook: apply a changed target soon, off the request thread."""
        threading.Thread(target=self._safe_tick, name="sagemaker-autoscaling", daemon=True).start()

    def _safe_tick(self) -> None:
        try:
            self.tick(track=False)
        except Exception:
            log.exception("local SageMaker: applying scalable targets failed")

    def tick(self, *, track: bool = True) -> dict[tuple[str, str], int]:
        """Apply bounds (and, with `track`, target tracking); returns the counts asked for."""
        with self._lock:
            client = self._client()
            targets = client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
            policies = (
                client.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
                if track else []
            )
            tracking = {
                p["ResourceId"]: p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
                for p in policies
                if p.get("PolicyType") == "TargetTrackingScaling"
                and (p["TargetTrackingScalingPolicyConfiguration"].get("PredefinedMetricSpecification")
                     or {}).get("PredefinedMetricType") == _METRIC
            }
            asked = {}
            for target in targets:
                parsed = parse_resource_id(target["ResourceId"])
                if parsed is None or target["ScalableDimension"] != _DIMENSION:
                    continue
                desired = self._desired(parsed, target, tracking.get(target["ResourceId"]), track)
                if desired is not None:
                    asked[parsed] = desired
                    self._endpoints.scale(parsed[0], parsed[1], desired)
            return asked

    def _desired(
        self, key: tuple[str, str], target: dict, per_instance: float | None, track: bool
    ) -> int | None:
        runtime = self._endpoints.runtime(key[0])
        fleets = runtime.blue if runtime is not None else None
        fleet = fleets.fleets.get(key[1]) if fleets is not None else None
        if fleet is None:
            return None
        current = len(fleet.instances)
        desired = current
        if track:
            now, invocations = self._clock.monotonic(), fleet.counts[0]
            previous = self._last.get(key)
            self._last[key] = (now, invocations)
        if track and per_instance and previous is not None and now > previous[0]:
            per_minute = (invocations - previous[1]) * 60.0 / (now - previous[0])
            desired = max(1, math.ceil(per_minute / per_instance))
        low, high = target.get("MinCapacity", 1), target.get("MaxCapacity", current)
        return min(max(desired, low), high)

    def run(self, interval_s: float, stop: threading.Event) -> None:
        """Tick every `interval_s` of real time until `stop` is set (rates use the clock)."""
        while not stop.wait(interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("local SageMaker: autoscaling tick failed")
