"""A blue/green rollout as users watch it: SageMaker's variant status, and the new fleet's
share of traffic.

SageMaker's `DescribeEndpoint` reports an update in progress as `PendingDeploymentSummary`,
each variant with `VariantStatus` entries (`Creating | Updating | Deleting |
ActivatingTraffic | Baking`, a message and a `StartTime`). It does not report the traffic
share itself; that follows from the strategy and how many baking periods have begun: a
canary bakes once on its share and once on all traffic, a linear rollout once per step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.core.endpoints import TrafficStrategy

BAKING = "Baking"


class Rollout(BaseModel):
    """The rollout as the deploy workflow last saw it."""

    model_config = ConfigDict(frozen=True)

    #: SageMaker's variant status: Creating, Updating, Deleting, ActivatingTraffic or Baking.
    status: str = Field(max_length=32)
    message: str | None = Field(default=None, max_length=1024)
    #: when that status began (the variant status's `StartTime`).
    since: datetime | None = None
    #: baking periods begun so far.
    bakes: int = Field(default=0, ge=0)
    #: share of traffic on the new fleet.
    traffic_percent: int = Field(default=0, ge=0, le=100)


def traffic_share(strategy: TrafficStrategy, bakes: int) -> int:
    """Percent of traffic on the new fleet once `bakes` baking periods have begun."""
    if bakes <= 0:
        return 0
    if strategy.type == "canary":
        return int(strategy.percent or 0) if bakes == 1 else 100
    if strategy.type == "linear":
        return min(100, int(strategy.percent or 0) * bakes)
    return 100


def observed_status(described: dict[str, Any]) -> tuple[str, str | None, datetime | None] | None:
    """(status, message, since) of the first variant's newest status in a `DescribeEndpoint`
    answer, or None when no update is in progress."""
    variants = (described.get("PendingDeploymentSummary") or {}).get("ProductionVariants") or []
    statuses = (variants[0].get("VariantStatus") or []) if variants else []
    if not statuses:
        return None
    newest = statuses[-1]
    return str(newest.get("Status", "")), newest.get("StatusMessage"), newest.get("StartTime")


def next_rollout(previous: Rollout | None, strategy: TrafficStrategy, status: str, message: str | None,
                 since: datetime | None) -> Rollout | None:
    """The rollout after observing `status` since `since`; None when nothing changed."""
    if previous is not None and (previous.status, previous.since) == (status, since):
        return None
    bakes = (previous.bakes if previous else 0) + (1 if status == BAKING else 0)
    return Rollout(status=status[:32], message=message[:1024] if message else None, since=since, bakes=bakes,
                   traffic_percent=traffic_share(strategy, bakes))
