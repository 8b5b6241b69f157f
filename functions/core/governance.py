"""Use cases: the approval workflow (submit, approve, reject, archive) and aliases."""

from __future__ import annotations

from collections.abc import Callable

from functions.core import access
from functions.core import periods as periods_
from functions.core.errors import (
    ApprovalRequired,
    ArtifactNotVerified,
    FourEyesViolation,
    InvalidTransition,
    ModelCardIncomplete,
    ModelNotFound,
    VersionNotFound,
    VersionNotServable,
)
from functions.core.lifecycle import require_active
from functions.core.models import (
    TRANSITIONS,
    Alias,
    Model,
    ModelVersion,
    StatusChange,
    VersionStatus,
)
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
from functions.core.records import ALIAS_PREFIX, Page, model_pk
from functions.core.registry import find_version, require_model
from functions.core.revalidation import production_for
from functions.core.risk import APPROVALS_NEEDED, Signoff
from functions.core.semver import SemVer, VersionSpec, validate_alias

PRODUCTION = "production"
_Check = Callable[[Model, ModelVersion], None]


def submit(deps: Deps, ctx: Context, name: str, version: str) -> ModelVersion:
    """registered → pending_approval; needs a complete model card and a verified artifact."""
    access.require(ctx.actor, access.PUBLISH, name, doing="submitting a version")

    def check(model: Model, current: ModelVersion) -> None:
        missing = current.card.missing()
        if missing:
            raise ModelCardIncomplete(
                f"{name} {version} needs a complete model card; missing: {', '.join(missing)}"
            )
        verify_artifact(deps, current)

    return _transition(deps, ctx, name, version, VersionStatus.pending_approval, "version.submit", check)


def approve(deps: Deps, ctx: Context, name: str, version: str, comment: str | None = None) -> ModelVersion:
    """pending_approval → approved, by someone other than the publisher (four eyes); a `high`
    risk model stays pending until a second, different approver approves too."""
    access.require(ctx.actor, access.DECIDE, name, doing="approving a version")

    def check(model: Model, current: ModelVersion) -> None:
        # four eyes: nobody who shaped the version approves it, by any key or owner spelling
        shaped = current.shaped_by(ctx.actor)
        if shaped == "published it":
            raise FourEyesViolation(f"{name} {version} was published by you; another approver must approve it")
        if shaped is not None:
            raise FourEyesViolation(f"{name} {version}: you {shaped}; another approver must approve it")
        if any(earlier.same_person(ctx.actor.id, ctx.actor.owner) for earlier in current.approvals):
            raise FourEyesViolation(f"{name} {version} has your approval already; "
                                    f"a {model.policy.risk_tier.value}-risk model needs another approver's too")
        missing = current.card.missing()
        if missing:
            raise ModelCardIncomplete(f"{name} {version} model card is missing: {', '.join(missing)}")

    return _transition(deps, ctx, name, version, VersionStatus.approved, "version.approve", check, comment)


def reject(deps: Deps, ctx: Context, name: str, version: str, comment: str | None = None) -> ModelVersion:
    """pending_approval → rejected."""
    access.require(ctx.actor, access.DECIDE, name, doing="rejecting a version")
    return _transition(deps, ctx, name, version, VersionStatus.rejected, "version.reject", None, comment)


def archive(deps: Deps, ctx: Context, name: str, version: str, comment: str | None = None) -> ModelVersion:
    """approved | rejected → archived, unless an alias still points at it."""
    access.require(ctx.actor, access.ARCHIVE, name, doing="archiving a version")

    def check(model: Model, current: ModelVersion) -> None:
        backing = [a.alias for a in _aliases(deps, name, consistent=True) if a.version == current.version]
        if backing:
            raise InvalidTransition(f"{name} {version} still backs alias {', '.join(backing)}")

    return _transition(deps, ctx, name, version, VersionStatus.archived, "version.archive", check, comment)


def verify_artifact(deps: Deps, version: ModelVersion) -> None:
    """Raise ArtifactNotVerified unless the stored object carries the published SHA-256 and size."""
    stored = deps.artifacts.stat(version.artifact.uri)
    label = f"{version.model} {version.version}"
    if stored is None:
        raise ArtifactNotVerified(f"{label}: no artifact uploaded at {version.artifact.uri}")
    if stored.sha256 is None:
        raise ArtifactNotVerified(f"{label}: the artifact was stored without a SHA-256 checksum")
    if stored.sha256 != version.artifact.sha256:
        raise ArtifactNotVerified(f"{label}: the artifact's SHA-256 does not match the published one")
    if stored.size != version.artifact.size:
        raise ArtifactNotVerified(
            f"{label}: the artifact has {stored.size} bytes, {version.artifact.size} were published"
        )


def transition(
    deps: Deps, ctx: Context, name: str, version: str, to: VersionStatus, *, comment: str | None = None
) -> ModelVersion:
    """Move a version's status with only the status-machine check (for workflows)."""
    return _transition(deps, ctx, name, version, to, f"version.{to.value}", None, comment)


def _transition(
    deps: Deps,
    ctx: Context,
    name: str,
    version: str,
    to: VersionStatus,
    action: str,
    check: _Check | None,
    comment: str | None = None,
) -> ModelVersion:
    number = SemVer.parse(version)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        current = deps.store.get(ModelVersion.key_for(name, number), ModelVersion, consistent=True)
        if current is None:
            raise VersionNotFound(f"{name} {number} does not exist")
        if to not in TRANSITIONS[current.status]:
            raise InvalidTransition(f"{name} {number} is {current.status.value}; it cannot become {to.value}")
        if check is not None:
            check(model, current)
        now = deps.clock()
        fields, details = {}, {"from": current.status.value, "to": to.value, "comment": comment}
        if to is VersionStatus.approved:
            # a `high` model needs approvals from several people; until then it stays pending
            approvals = [*current.approvals, Signoff(by=ctx.actor.id, owner=ctx.actor.owner, at=now, comment=comment)]
            needed = APPROVALS_NEEDED[model.policy.risk_tier]
            fields["approvals"] = approvals
            details.update(approvals=len(approvals), needed=needed)
            if len(approvals) < needed:
                details["to"] = current.status.value
                updated = current.model_copy(update=fields)
                uow = change(deps, ctx, head, action=action, target=f"{name}@{number}", details=details,
                             writes=[Put(updated)])
                return uow, updated
        step = StatusChange(status=to, at=now, by=ctx.actor.id, comment=comment)
        updated = current.model_copy(update={"status": to, "history": [*current.history, step], **fields})
        uow = change(
            deps, ctx, head,
            action=action, target=f"{name}@{number}", details=details, writes=[Put(updated)],
        )  # fmt: skip
        return uow, updated

    return commit(deps, build)


# --- aliases ------------------------------------------------------------------------------


def set_alias(
    deps: Deps,
    ctx: Context,
    name: str,
    alias: str,
    spec: str,
    *,
    endpoint: str | None = None,
    deployment_id: str | None = None,
) -> Alias:
    """Point `alias` at the version `spec` resolves to (pinned to that exact version).

    `production` needs an approved version when the model's policy requires approval;
    rejected and archived versions back no alias. `endpoint` records the endpoint that now
    serves the alias (the deploy workflow sets it, with its `deployment_id`); without it, an
    endpoint already recorded is kept only if the alias stays on the same version. The
    alias's production history (`functions.core.periods`) is written in the same
    transaction as the move and its audit event.
    """
    access.require(ctx.actor, access.MOVE_ALIAS, name, doing="moving an alias")
    validate_alias(alias)
    wanted = VersionSpec.parse(spec)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        target = find_version(deps, name, wanted, consistent=True)
        if target.status in (VersionStatus.rejected, VersionStatus.archived):
            raise VersionNotServable(f"{name} {target.version} is {target.status.value}")
        if alias == PRODUCTION and model.policy.require_approval and target.status != VersionStatus.approved:
            raise ApprovalRequired(
                f"{name} {target.version} is {target.status.value}; production needs an approved version"
            )
        previous = deps.store.get(Alias.key_for(name, alias), Alias, consistent=True)
        kept = previous.endpoint if previous and previous.version == target.version else None
        now = deps.clock()
        period, periods = periods_.move(
            previous.period if previous else None, model=name, alias=alias, version=target.version,
            endpoint=endpoint or kept, deployment_id=deployment_id, moved_by=ctx.actor.label, now=now,
            seq=head.seq + 1,
        )  # fmt: skip
        record = Alias(
            model=name,
            alias=alias,
            version=target.version,
            endpoint=endpoint or kept,
            updated_at=now,
            updated_by=ctx.actor.id,
            period=period,
        )
        uow = change(
            deps, ctx, head,
            action="alias.set", target=f"{name}:{alias}",
            details={
                "version": record.version,
                "previous": previous.version if previous else None,
                "endpoint": record.endpoint,
                "deployment_id": deployment_id,
                "period_start": period.start.isoformat(),
            },
            writes=[Put(record), *(Put(p) for p in periods), *_production(model, alias, target, previous, now)],
        )  # fmt: skip
        return uow, record

    record = commit(deps, build)
    deps.authorizer_cache.flush()  # inference routing may have changed
    return record


def _production(model: Model, alias: str, target: ModelVersion, previous: Alias | None, now) -> list[Put]:
    """The model's `production` state (what backs it, when it is due for revalidation) when it moves."""
    if alias != PRODUCTION:
        return []
    if previous is not None and previous.version == target.version and model.production is not None:
        return []
    return [Put(model.model_copy(update={"production": production_for(model, target, now)}))]


def list_aliases(deps: Deps, ctx: Context, name: str) -> list[Alias]:
    access.require(ctx.actor, access.READ, name)
    aliases = _aliases(deps, name)
    if not aliases:
        require_model(deps, name)
    return aliases


def _aliases(deps: Deps, name: str, *, consistent: bool = False) -> list[Alias]:
    page: Page[Alias] = deps.store.query(
        model_pk(name), Alias, prefix=ALIAS_PREFIX, limit=100, consistent=consistent
    )
    return page.items
