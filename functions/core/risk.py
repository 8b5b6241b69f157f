"""Risk tiers and revalidation (SR 11-7 style periodic validation of production models).

Each model has a risk tier in its policy (`low`, `medium`, `high`) and a revalidation
interval (the tier's default unless the policy sets `revalidation_days`). The version that
backs `production` must be validated again (`POST .../versions/{v}/revalidate`, by an
approver who is not its publisher) within that interval of its approval or last
revalidation; past that date it is overdue, which listings flag and `modelport audit due`
lists. A `high` model's versions need approvals from two different approvers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.core.principals import same_person


class RiskTier(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


#: tiers from least to most scrutiny (lowering a tier loosens the policy).
TIER_ORDER = (RiskTier.low, RiskTier.medium, RiskTier.high)
#: default revalidation interval of each tier, in days.
REVALIDATION_DAYS = {RiskTier.low: 365, RiskTier.medium: 180, RiskTier.high: 90}
#: approvals (by different people) a version of each tier needs.
APPROVALS_NEEDED = {RiskTier.low: 1, RiskTier.medium: 1, RiskTier.high: 2}


def interval_days(tier: RiskTier, revalidation_days: int | None) -> int:
    """The revalidation interval a policy asks for."""
    return revalidation_days if revalidation_days is not None else REVALIDATION_DAYS[tier]


class Signoff(BaseModel):
    """One person's approval (or revalidation) of a version: who, when, what they said."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    by: str
    owner: str | None = None
    at: datetime
    comment: str | None = None

    def same_person(self, key_id: str, owner: str | None) -> bool:
        return same_person(self.by, self.owner, key_id, owner)


class ProductionState(BaseModel):
    """Which version backs `production` and when it must be validated again (kept on the
    model item, so listings flag overdue models without another read)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str
    since: datetime
    #: the version's approval, or its latest revalidation.
    validated_at: datetime
    revalidate_by: datetime

    def overdue(self, now: datetime) -> bool:
        return now >= self.revalidate_by


def production_state(version: str, since: datetime, validated_at: datetime, days: int) -> ProductionState:
    return ProductionState(version=version, since=since, validated_at=validated_at,
                           revalidate_by=validated_at + timedelta(days=days))
