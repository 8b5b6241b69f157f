"""Use cases: a model's lifecycle (DESIGN.md §10): change its settings, retire it.

`PATCH /v1/models/{name}` is a JSON Merge Patch (RFC 7386) of the model's *settings*
(`description`, `owner`, `policy`, `training`), based on the revision the caller read
(`If-Match`; a stale one is refused, so nobody undoes a change they have not seen). Every
change is audited with the settings before and after.

Who may change what:

* a model's settings: its publishers (publisher role, a pattern covering the model) or an
  admin; its policy alone: its approvers too (they own the governance decisions);
* the trust flags (`require_approval`, `allow_pickle`, `allow_code`), in either direction:
  an approver or an admin as well;
* a change that loosens the policy (`functions.core.policy_rules`, e.g. turning approval
  off, a lower risk tier, a training image): an approver or an admin, *and a second
  person*. Such a PATCH is not applied: it becomes a pending change (`CHANGE#<id>`), which
  another approver or admin (never the requester: not the same key, not the same owner)
  confirms, or anyone of them, the requester included, rejects. The confirmation applies
  it only if the model has not changed since the request; pending changes expire.

A retired model stays in the inventory, read-only (`require_active` guards every change),
and is listed with `GET /v1/models?status=retired`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.core import access, policy_rules, principals
from functions.core.errors import (
    ChangeNotFound,
    ChangeNotPending,
    ChangeStale,
    Conflict,
    Forbidden,
    FourEyesViolation,
    InvalidInput,
    ModelInUse,
    ModelNotFound,
    ModelRetired,
    PreconditionFailed,
    PreconditionRequired,
)
from functions.core.exclusive import ACTIVE_PREFIX, ActiveChange
from functions.core.models import Alias, Model, ModelPolicy, Principal, ShortText, TrainingSpec
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
from functions.core.records import ALIAS_PREFIX, ItemKey, Page, Record, model_pk
from functions.core.risk import interval_days, production_state

CHANGE_PREFIX = "CHANGE#"
CHANGE_ID_RE = r"^\d{8}-\d{6}-[0-9a-f]{6}$"
#: how long a pending change waits for its second person.
PENDING_FOR = timedelta(days=7)
#: who may PATCH at all (what each may change: `_check_roles`).
CHANGE_ROLES = access.PUBLISH | access.DECIDE
#: the trust flags: changing them either way needs an approver or an admin.
TRUST_FLAGS = ("require_approval", "allow_pickle", "allow_code")


class ModelSettings(BaseModel):
    """What a PATCH may change: the model's settings (everything else is its history)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: ShortText = ""
    owner: str = Field(min_length=1, max_length=256)
    policy: ModelPolicy = ModelPolicy()
    training: TrainingSpec = TrainingSpec()

    @classmethod
    def of(cls, model: Model) -> ModelSettings:
        return cls(description=model.description, owner=model.owner, policy=model.policy, training=model.training)


class ChangeStatus(StrEnum):
    pending = "pending"
    applied = "applied"
    rejected = "rejected"


class ModelChange(Record):
    """A PATCH that loosens the policy, waiting for a second person (`CHANGE#<id>`)."""

    KIND: ClassVar[str] = "model_change"

    id: str
    model: str
    #: the merge patch as requested, the settings it was based on and those it leads to.
    patch: dict[str, Any]
    before: ModelSettings
    after: ModelSettings
    base_revision: int
    loosened: list[dict[str, Any]]
    status: ChangeStatus = ChangeStatus.pending
    requested_by: str
    requested_by_owner: str | None = None
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.id)

    @staticmethod
    def key_for(model: str, change_id: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{CHANGE_PREFIX}{change_id}")


class Updated(BaseModel):
    """The outcome of a PATCH: the model as it is now, and the pending change if it waits."""

    model: Model
    change: ModelChange | None = None


# --- the merge patch ------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge member by member, `null` removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def patched(model: Model, patch: Any) -> ModelSettings:
    """The settings after `patch`; a removed member takes its default. InvalidInput names
    every bad field (`body.<path>`), unknown and unchangeable ones included."""
    if not isinstance(patch, dict):
        raise InvalidInput("the body must be a JSON object (a merge patch of the model's settings)",
                           [{"path": "body", "message": "not an object"}])
    fixed = sorted(set(patch) - set(ModelSettings.model_fields))
    if fixed:
        raise InvalidInput(
            f"only {', '.join(ModelSettings.model_fields)} can be changed; not {', '.join(fixed)}",
            [{"path": f"body.{name}", "message": "cannot be changed"} for name in fixed],
        )
    merged = merge_patch(ModelSettings.of(model).model_dump(mode="json"), patch)
    try:
        return ModelSettings.model_validate(merged)
    except ValidationError as error:
        fields = [{"path": "body." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        raise InvalidInput(f"invalid change: {summary}", fields) from None


def parse_if_match(header: str | None) -> int | None:
    """The revision in an `If-Match` header (`"3"`, `3` or `*`: None); raise on anything else."""
    if header is None:
        raise PreconditionRequired(
            "say which revision of the model you changed: send If-Match with its ETag (GET /v1/models/{name})"
        )
    value = header.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        raise PreconditionFailed("a weak ETag never matches: send the model's ETag as it was given")
    digits = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if not digits.isdigit():
        raise InvalidInput(f"If-Match {header!r} is not a model revision", [{"path": "header.If-Match",
                                                                            "message": "not a revision"}])
    return int(digits)


def etag(model: Model) -> str:
    return f'"{model.revision}"'


# --- rules ----------------------------------------------------------------------------------


def require_active(model: Model) -> None:
    """Raise ModelRetired for a retired model (it is read-only)."""
    if model.status == "retired":
        raise ModelRetired(f"model {model.name!r} is retired (read-only since {model.retired_at:%Y-%m-%d})")


def _changed_fields(before: ModelSettings, after: ModelSettings) -> list[str]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changed = [k for k in ("description", "owner") if old[k] != new[k]]
    for part in ("policy", "training"):
        changed += [f"{part}.{k}" for k in new[part] if old[part].get(k) != new[part][k]]
    return changed


def _check_scope(actor: Principal, patch: dict[str, Any]) -> None:
    """Approvers change a model's policy only (judged on what the patch names, changed or not)."""
    not_policy = sorted(set(patch) - {"policy"})
    if not_policy and not actor.roles & access.PUBLISH:
        raise Forbidden(f"changing {', '.join(not_policy)} needs the publisher or admin role "
                        "(approvers change a model's policy only)")


def _check_roles(actor: Principal, changed: list[str], before: ModelSettings, after: ModelSettings) -> list:
    flags = [f for f in changed if f.split(".")[-1] in TRUST_FLAGS and f.startswith("policy.")]
    if flags and not actor.roles & policy_rules.LOOSEN_ROLES:
        raise Forbidden(f"changing {', '.join(flags)} needs an approver or an admin")
    found = policy_rules.check_change(
        actor, policy_rules.Governed.of(before), policy_rules.Governed.of(after), creating=False
    )
    return policy_rules.audit_details(found)


def same_person(actor: Principal, key_id: str, owner: str | None) -> bool:
    """The same key, or a key of the same holder (owners compared normalized)."""
    return principals.same_person(actor.id, actor.owner, key_id, owner)


def _apply(model: Model, after: ModelSettings, now: datetime) -> Model:
    updated = model.model_copy(update={**dict(after), "revision": model.revision + 1})
    if updated.production is not None and (
        interval_days(model.policy.risk_tier, model.policy.revalidation_days)
        != interval_days(after.policy.risk_tier, after.policy.revalidation_days)
    ):
        p = updated.production
        days = interval_days(after.policy.risk_tier, after.policy.revalidation_days)
        updated = updated.model_copy(update={"production": production_state(p.version, p.since, p.validated_at, days)})
    return updated


# --- use cases ------------------------------------------------------------------------------


def update_model(deps: Deps, ctx: Context, name: str, patch: Any, *, if_match: str | None) -> Updated:
    """Apply a merge patch to a model's settings (or, when it loosens the policy, file it as a
    pending change for a second person). Unchanged settings are no change (nothing audited)."""
    access.require(ctx.actor, CHANGE_ROLES, name, doing="changing a model")
    wanted = parse_if_match(if_match)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        if wanted is not None and wanted != model.revision:
            raise PreconditionFailed(
                f"model {name!r} is at revision {model.revision}, not {wanted}: read it again and redo the change"
            )
        before, after = ModelSettings.of(model), patched(model, patch)
        _check_scope(ctx.actor, patch)
        changed = _changed_fields(before, after)
        if not changed:
            return None, Updated(model=model)
        loosened = _check_roles(ctx.actor, changed, before, after)
        details = {"changed": changed, "before": before.model_dump(mode="json"),
                   "after": after.model_dump(mode="json"), "loosened": loosened}
        now = deps.clock()
        if loosened:
            pending = ModelChange(
                id=f"{now:%Y%m%d-%H%M%S}-{deps.new_id()[-6:]}", model=name, patch=patch, before=before, after=after,
                base_revision=model.revision, loosened=loosened, requested_by=ctx.actor.id,
                requested_by_owner=ctx.actor.owner, requested_at=now, expires_at=now + PENDING_FOR,
            )  # fmt: skip
            uow = change(deps, ctx, head, action="model.change_request", target=f"{name}/changes/{pending.id}",
                         details={**details, "change_id": pending.id, "base_revision": model.revision},
                         writes=[Put(pending, if_absent=Conflict(f"change {pending.id} exists; retry"))])
            return uow, Updated(model=model, change=pending)
        updated = _apply(model, after, now)
        uow = change(deps, ctx, head, action="model.update", target=name,
                     details={**details, "revision": updated.revision}, writes=[Put(updated)])
        return uow, Updated(model=updated)

    return _commit_maybe(deps, build)


def decide_change(
    deps: Deps, ctx: Context, name: str, change_id: str, *, confirm: bool, comment: str | None = None
) -> Updated:
    """Confirm (apply) or reject a pending change. Confirming needs an approver or an admin
    who is not the requester; rejecting, an approver, an admin or the requester."""
    if confirm:
        access.require(ctx.actor, access.DECIDE, name, doing="confirming a change to a model's policy")
    else:  # approvers and admins, or the requester withdrawing it (checked below)
        access.require(ctx.actor, CHANGE_ROLES, name, doing="rejecting a change to a model")

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        pending = deps.store.get(ModelChange.key_for(name, change_id), ModelChange, consistent=True)
        if pending is None:
            raise ChangeNotFound(f"model {name!r} has no change {change_id!r}")
        requester = same_person(ctx.actor, pending.requested_by, pending.requested_by_owner)
        if not confirm and not requester:
            access.require(ctx.actor, access.DECIDE, name, doing="rejecting someone else's change")
        now = deps.clock()
        if pending.status is not ChangeStatus.pending:
            raise ChangeNotPending(f"change {change_id} is already {pending.status.value}")
        if confirm and now >= pending.expires_at:
            raise ChangeNotPending(f"change {change_id} expired at {pending.expires_at:%Y-%m-%d %H:%M}; request it again")
        decided = pending.model_copy(update={
            "status": ChangeStatus.applied if confirm else ChangeStatus.rejected,
            "decided_by": ctx.actor.id, "decided_at": now, "comment": comment,
        })  # fmt: skip
        target = f"{name}/changes/{change_id}"
        if not confirm:
            uow = change(deps, ctx, head, action="model.change_reject", target=target,
                         details={"change_id": change_id, "comment": comment}, writes=[Put(decided)])
            return uow, Updated(model=model, change=decided)
        if requester:
            raise FourEyesViolation(f"change {change_id} was requested by you; another approver or admin must confirm it")
        require_active(model)
        if model.revision != pending.base_revision:
            raise ChangeStale(f"model {name!r} changed since change {change_id} was requested "
                              f"(revision {pending.base_revision} → {model.revision}); request it again")
        policy_rules.check_change(ctx.actor, policy_rules.Governed.of(pending.before),
                                  policy_rules.Governed.of(pending.after), creating=False)
        updated = _apply(model, pending.after, now)
        uow = change(deps, ctx, head, action="model.update", target=name, details={
            "changed": _changed_fields(pending.before, pending.after),
            "before": pending.before.model_dump(mode="json"), "after": pending.after.model_dump(mode="json"),
            "loosened": pending.loosened, "revision": updated.revision, "change_id": change_id,
            "requested_by": pending.requested_by, "confirmed_by": ctx.actor.id, "comment": comment,
        }, writes=[Put(updated), Put(decided)])  # fmt: skip
        return uow, Updated(model=updated, change=decided)

    return commit(deps, build)


def retire_model(deps: Deps, ctx: Context, name: str, *, reason: str | None = None,
                 if_match: str | None = None) -> Model:
    """Retire a model: refused while an alias is deployed or a deployment or retrain runs."""
    access.require(ctx.actor, access.PUBLISH, name, doing="retiring a model")
    wanted = parse_if_match(if_match) if if_match is not None else None

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        if wanted is not None and wanted != model.revision:
            raise PreconditionFailed(f"model {name!r} is at revision {model.revision}, not {wanted}")
        aliases = deps.store.query(model_pk(name), Alias, prefix=ALIAS_PREFIX, limit=100, consistent=True).items
        deployed = [a for a in aliases if a.endpoint]
        if deployed:
            names = ", ".join(f"{a.alias} ({a.version} on endpoint {a.endpoint})" for a in deployed)
            raise ModelInUse(f"model {name!r} is deployed: alias {names}; undeploy it before retiring the model")
        running = deps.store.query(model_pk(name), ActiveChange, prefix=ACTIVE_PREFIX, limit=100, consistent=True)
        if running.items:
            holders = ", ".join(f"{a.scope} {a.holder}" for a in running.items)
            raise ModelInUse(f"model {name!r} is changing: {holders} has not finished")
        now = deps.clock()
        retired = model.model_copy(update={"status": "retired", "retired_at": now, "retired_by": ctx.actor.id,
                                           "revision": model.revision + 1})
        uow = change(deps, ctx, head, action="model.retire", target=name,
                     details={"before": {"status": model.status}, "after": {"status": "retired"},
                              "reason": reason, "revision": retired.revision}, writes=[Put(retired)])
        return uow, retired

    return commit(deps, build)


def list_changes(deps: Deps, ctx: Context, name: str, *, limit: int = 50, cursor: str | None = None) -> Page[ModelChange]:
    """A model's requested changes, newest first (one Query per page)."""
    from functions.core.registry import require_model

    access.require(ctx.actor, access.READ, name)
    page = deps.store.query(model_pk(name), ModelChange, prefix=CHANGE_PREFIX, limit=limit, newest_first=True,
                            cursor=cursor)
    if not page.items and cursor is None:
        require_model(deps, name)
    return page


def get_change(deps: Deps, ctx: Context, name: str, change_id: str) -> ModelChange:
    from functions.core.registry import require_model

    access.require(ctx.actor, access.READ, name)
    found = deps.store.get(ModelChange.key_for(name, change_id), ModelChange)
    if found is None:
        require_model(deps, name)
        raise ChangeNotFound(f"model {name!r} has no change {change_id!r}")
    return found


def _commit_maybe(deps: Deps, build):
    """`commit` for a build that may find nothing to write (`(None, result)`)."""
    from functions.core.mutations import with_retry

    def attempt():
        uow, result = build()
        if uow is not None:
            deps.store.commit(uow)
        return result

    return with_retry(deps, attempt)
