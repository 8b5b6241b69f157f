"""Evaluation of a retrained candidate against the `production` version, on the model's policy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from functions.core.errors import MetricsMissing
from functions.core.governance import PRODUCTION
from functions.core.models import Alias, ModelPolicy, ModelVersion
from functions.core.ports import Deps
from functions.core.registry import find_version
from functions.core.semver import VersionSpec


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    direction: str
    min_improvement: float
    candidate: float
    baseline: float | None = None
    baseline_version: str | None = None
    accepted: bool
    reason: str


def production_version(deps: Deps, name: str) -> ModelVersion | None:
    alias = deps.store.get(Alias.key_for(name, PRODUCTION), Alias, consistent=True)
    if alias is None:
        return None
    return find_version(deps, name, VersionSpec.parse(alias.version), consistent=True)


def evaluate(policy: ModelPolicy, candidate: dict[str, float], baseline: ModelVersion | None) -> Evaluation:
    """Compare the candidate with production on the policy's metric.

    Accepted when there is no production version (or it lacks the metric), or when the
    candidate improves on it by more than zero and at least `min_improvement`.
    """
    metric, direction = policy.metric, policy.metric_direction
    if metric not in candidate:
        have = ", ".join(sorted(candidate)) or "none"
        raise MetricsMissing(f"the training output reports no {metric!r} (it reports: {have})")
    value = float(candidate[metric])
    base = {"metric": metric, "direction": direction, "min_improvement": policy.min_improvement, "candidate": value}
    if baseline is None:
        return Evaluation(**base, accepted=True, reason="no production version to compare with")
    if metric not in baseline.metrics:
        return Evaluation(**base, baseline_version=baseline.version, accepted=True,
                          reason=f"production {baseline.version} has no {metric!r} metric")
    reference = float(baseline.metrics[metric])
    gain = value - reference if direction == "maximize" else reference - value
    accepted = gain > 0 and gain >= policy.min_improvement
    verdict = "improves on" if accepted else "does not improve enough on"
    return Evaluation(
        **base, baseline=reference, baseline_version=baseline.version, accepted=accepted,
        reason=(f"{metric} {value:.6g} {verdict} production {baseline.version} ({reference:.6g}; "
                f"{direction}, minimum improvement {policy.min_improvement:g})"),
    )
