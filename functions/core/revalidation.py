"""Use cases: revalidating production versions, and what is due (rules: `functions.core.risk`).

The model item keeps `production`: the version backing the `production` alias, since when,
when it was last validated (its approval, or its latest revalidation) and the date by
which it must be validated again. `set_alias` writes it when production moves, in the
move's own transaction; `revalidate` moves the date on. Listings compute `overdue` from it
at the time they are read (`ModelView`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from functions.core import access
from functions.core.errors import (
    FourEyesViolation,
    InvalidTransition,
    ModelNotFound,
    VersionNotFound,
)
from functions.core.lifecycle import require_active
from functions.core.models import Model, ModelVersion, VersionStatus
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
from functions.core.risk import ProductionState, Signoff, interval_days, production_state
from functions.core.semver import SemVer


class ModelView(Model):
    """A model as the API shows it: the record, plus what depends on when it is read."""

    #: the production version is past its revalidation date.
    revalidation_overdue: bool = Field(default=False)

    @classmethod
    def of(cls, model: Model, now: datetime) -> ModelView:
        overdue = model.production is not None and model.production.overdue(now)
        return cls(**dict(model), revalidation_overdue=overdue)


def last_validated(version: ModelVersion) -> datetime | None:
    """When a person last validated the version: its latest approval or revalidation."""
    times = [s.at for s in (*version.approvals, *version.revalidations)]
    times += [h.at for h in version.history if h.status is VersionStatus.approved]
    return max(times, default=None)


def production_for(model: Model, version: ModelVersion, now: datetime) -> ProductionState:
    """The production state when `version` starts backing `production` at `now` (a version
    nobody validated, under a policy without approval, counts from the move)."""
    days = interval_days(model.policy.risk_tier, model.policy.revalidation_days)
    return production_state(version.version, now, last_validated(version) or now, days)


def revalidate(deps: Deps, ctx: Context, name: str, version: str, comment: str | None = None) -> ModelVersion:
    """Record that an approver validated an approved version again (never its publisher);
    when it backs production, its revalidation date moves on (audited)."""
    access.require(ctx.actor, access.DECIDE, name, doing="revalidating a version")
    number = SemVer.parse(version)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        current = deps.store.get(ModelVersion.key_for(name, number), ModelVersion, consistent=True)
        if current is None:
            raise VersionNotFound(f"{name} {number} does not exist")
        if current.status is not VersionStatus.approved:
            raise InvalidTransition(f"{name} {number} is {current.status.value}; only approved versions are revalidated")
        shaped = current.shaped_by(ctx.actor)
        if shaped is not None:
            raise FourEyesViolation(f"{name} {number}: you {shaped}; another approver must revalidate it"
                                    if shaped != "published it" else
                                    f"{name} {number} was published by you; another approver must revalidate it")
        now = deps.clock()
        updated = current.model_copy(update={"revalidations": [
            *current.revalidations, Signoff(by=ctx.actor.id, owner=ctx.actor.owner, at=now, comment=comment)]})
        writes: list = [Put(updated)]
        details = {"version": current.version, "comment": comment, "production": False}
        if model.production is not None and model.production.version == current.version:
            state = production_for(model, updated, model.production.since)
            writes.append(Put(model.model_copy(update={"production": state})))
            details.update(production=True, revalidate_by=state.revalidate_by.isoformat())
        uow = change(deps, ctx, head, action="version.revalidate", target=f"{name}@{number}", details=details,
                     writes=writes)
        return uow, updated

    return commit(deps, build)
