"""Use cases: deployments (`DEPLOY#<id>` under `MODEL#<name>`), started by the API or by a retrain.

A deployment serves one version behind one alias's endpoint (`endpoints.endpoint_name`,
claimed for that alias in the transaction that starts the first deployment to it) by way
of the deploy workflow. Its record says where the workflow is (`status`, `step`)
and, when it failed, why (`error`, `cause`). Every change of the record is audited on the
model's chain. The deploy steps act as `system_actor("deploy")`.

What a stage allows (instance types, images) is `functions.core.stages`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from functions.core import access, exclusive, policy_rules
from functions.core.endpoints import EndpointSettings, claim_writes, endpoint_name
from functions.core.errors import (
    ApprovalRequired,
    Conflict,
    DeploymentInProgress,
    DeploymentNotFound,
    ModelNotFound,
    VersionNotServable,
)
from functions.core.governance import PRODUCTION
from functions.core.lifecycle import require_active
from functions.core.models import Alias, Model, ModelVersion, VersionStatus, system_actor
from functions.core.mutations import Put, change, commit, update_model_record
from functions.core.ports import Context, Deps
from functions.core.records import ItemKey, Page, Record, StepMark, model_pk
from functions.core.registry import find_version, require_model
from functions.core.rollout import Rollout, next_rollout
from functions.core.semver import VersionSpec, validate_alias
from functions.core.stages import ImageRef, StageRules

#: who may start a deployment (the same people who may move an alias).
DEPLOY = access.DEPLOY
DEPLOY_PREFIX = "DEPLOY#"
DEPLOYMENT_ID_RE = r"^\d{8}-\d{6}-[0-9a-f]{6}$"
#: step names as users see them (`GET .../deployments/{id}`, `modelport deploy --wait`).
STEPS = (
    "queued", "validate", "create_model", "create_endpoint_config", "prepare_rollout",
    "create_endpoint", "update_endpoint", "wait_endpoint", "autoscaling", "move_alias",
    "flush_cache", "done",
)  # fmt: skip


def workflow_context(request_id: str) -> Context:
    """The deploy workflow's identity in audit events."""
    return Context(actor=system_actor("deploy"), request_id=request_id)


class DeploymentStatus(StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


TERMINAL = frozenset({DeploymentStatus.succeeded, DeploymentStatus.failed})


class WorkflowStarter(Protocol):
    def start(self, name: str, input: dict[str, Any]) -> bool:
        """Start an execution named `name`; False when one of that name exists already."""


class NewDeployment(BaseModel):
    """Command: deploy a version (spec) behind an alias."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(default="latest", max_length=64,
                         description="1.2.3, 1.2.x, 1.x, latest or an alias; resolved when the request is made")
    alias: str = Field(default=PRODUCTION, max_length=32, description="the alias the deployment moves")
    settings: EndpointSettings = EndpointSettings()
    image: ImageRef | None = Field(default=None, description="default: Modelport's CPU or GPU image")


class Deployment(Record):
    KIND: ClassVar[str] = "deployment"

    id: str
    model: str
    version: str
    alias: str
    endpoint: str
    settings: EndpointSettings
    image: ImageRef | None = None
    status: DeploymentStatus = DeploymentStatus.pending
    step: str = "queued"
    steps: list[StepMark] = Field(default_factory=list)
    #: the alias's version when the deployment started (what keeps serving on failure).
    previous_version: str | None = None
    error: str | None = None
    cause: str | None = None
    notes: list[str] = Field(default_factory=list)
    #: the blue/green rollout as the workflow last saw it (share of traffic, baking since when).
    rollout: Rollout | None = None
    #: `api`, or `retrain:<id>` when a retrain started it.
    source: str = "api"
    requested_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.id)

    @staticmethod
    def key_for(model: str, deployment_id: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{DEPLOY_PREFIX}{deployment_id}")


def new_deployment_id(now: datetime, random_hex: str) -> str:
    """Time-ordered (newest-first listing is one Query) and valid as an execution name."""
    return f"{now:%Y%m%d-%H%M%S}-{random_hex[:6]}"


def check_deployable(model: Model, version: ModelVersion, alias: str, image: ImageRef | None = None) -> None:
    """The governance rules of `set_alias`, and approval before code (`policy_rules`),
    checked before anything is created."""
    if version.status in (VersionStatus.rejected, VersionStatus.archived):
        raise VersionNotServable(f"{model.name} {version.version} is {version.status.value}")
    policy_rules.require_code_allowed(model, version, image)
    if alias == PRODUCTION and model.policy.require_approval and version.status != VersionStatus.approved:
        raise ApprovalRequired(
            f"{model.name} {version.version} is {version.status.value}; production needs an approved version"
        )


def workflow_input(deployment: Deployment, poll_seconds: int) -> dict[str, Any]:
    """The deploy workflow's input (docs/contracts.md, "Deploy workflow")."""
    return {
        "deployment_id": deployment.id,
        "model": deployment.model,
        "version": deployment.version,
        "alias": deployment.alias,
        "endpoint": deployment.endpoint,
        "settings": deployment.settings.model_dump(mode="json"),
        "image": deployment.image.model_dump(mode="json", exclude_none=True) if deployment.image else None,
        "poll_seconds": poll_seconds,
    }


def start_deployment(
    deps: Deps,
    ctx: Context,
    rules: StageRules,
    starter: WorkflowStarter,
    name: str,
    new: NewDeployment,
    *,
    poll_seconds: int = 30,
    source: str = "api",
) -> Deployment:
    """Check the request, write the pending deployment (audited), start the workflow.

    The version spec is resolved now, so the record names the exact version. Bad input is
    refused before anything is written; if the workflow cannot be started the deployment
    is marked failed and the error is raised.
    """
    access.require(ctx.actor, DEPLOY, name, doing="deploying a model")
    validate_alias(new.alias)
    spec = VersionSpec.parse(new.version)
    rules.check(new.settings, new.image)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        version = find_version(deps, name, spec, consistent=True)
        check_deployable(model, version, new.alias, new.image)
        previous = deps.store.get(Alias.key_for(name, new.alias), Alias, consistent=True)
        endpoint = endpoint_name(rules.stage, name, new.alias)
        # the name is this alias's, claimed in this transaction (or already), never another's
        claim = claim_writes(deps, endpoint, name, new.alias, stage=rules.stage, by=ctx.actor.id)
        now = deps.clock()
        deployment_id = new_deployment_id(now, deps.new_id())
        one_at_a_time = exclusive.claim(
            deps, name, exclusive.deploy_scope(new.alias), deployment_id,
            running=lambda other: _unfinished(deps, name, other), refused=_in_progress,
            raced=DeploymentInProgress(f"another deployment to {name}:{new.alias} started at the same moment; retry"),
        )
        deployment = Deployment(
            id=deployment_id,
            model=name, version=version.version, alias=new.alias, endpoint=endpoint,
            settings=new.settings, image=new.image,
            previous_version=previous.version if previous else None,
            source=source, requested_by=ctx.actor.id,
            created_at=now, updated_at=now, steps=[StepMark(step="queued", at=now)],
        )  # fmt: skip
        uow = change(
            deps, ctx, head,
            action="deployment.start", target=f"{name}:{new.alias}",
            details=deployment.model_dump(mode="json", include={
                "id", "version", "alias", "endpoint", "settings", "image", "previous_version", "source"}),
            writes=[Put(deployment, if_absent=Conflict(f"deployment {deployment.id} exists; retry")), *claim,
                    one_at_a_time],
        )  # fmt: skip
        return uow, deployment

    deployment = commit(deps, build)
    try:
        starter.start(deployment.id, workflow_input(deployment, poll_seconds))
    except Exception as error:
        fail(deps, workflow_context(ctx.request_id), name, deployment.id, step="queued",
             error=type(error).__name__, cause="the deploy workflow could not be started")
        raise
    return deployment


def _unfinished(deps: Deps, name: str, deployment_id: str) -> Deployment | None:
    found = deps.store.get(Deployment.key_for(name, deployment_id), Deployment, consistent=True)
    return found if found is not None and found.status not in TERMINAL else None


def _in_progress(running: Deployment) -> DeploymentInProgress:
    return DeploymentInProgress(
        f"deployment {running.id} of {running.model} {running.version} to alias {running.alias} "
        f"is {running.status.value} (step {running.step}); one deployment per alias runs at a time, "
        "so start this one when that one has finished"
    )


# --- progress, written by the workflow's steps ---------------------------------------------


def record_step(deps: Deps, ctx: Context, name: str, deployment_id: str, step: str) -> Deployment:
    """Mark the deployment running at `step` (audited); a finished deployment is left as it is."""

    def mutate(current: Deployment) -> tuple[Deployment | None, dict[str, Any]]:
        if current.status in TERMINAL or (current.step == step and current.status == DeploymentStatus.running):
            return None, {}
        now = deps.clock()
        updated = current.model_copy(update={
            "status": DeploymentStatus.running, "step": step, "updated_at": now,
            "steps": [*current.steps, StepMark(step=step, at=now)],
        })  # fmt: skip
        return updated, {"deployment": deployment_id, "step": step}

    return _update(deps, ctx, name, deployment_id, "deployment.step", mutate)[0]


def succeed(deps: Deps, ctx: Context, name: str, deployment_id: str, *, notes: list[str] | None = None) -> Deployment:
    """Mark the deployment succeeded (audited) and publish `Deployment Succeeded` once."""

    def mutate(current: Deployment) -> tuple[Deployment | None, dict[str, Any]]:
        if current.status in TERMINAL:
            return None, {}
        now = deps.clock()
        updated = current.model_copy(update={
            "status": DeploymentStatus.succeeded, "step": "done", "updated_at": now, "finished_at": now,
            "steps": [*current.steps, StepMark(step="done", at=now)], "notes": [*current.notes, *(notes or [])],
        })  # fmt: skip
        return updated, {"deployment": deployment_id, "version": current.version, "endpoint": current.endpoint}

    deployment, changed = _update(deps, ctx, name, deployment_id, "deployment.succeed", mutate)
    if changed:
        deps.events.publish("Deployment Succeeded", succeeded_detail(deployment))
    return deployment


def fail(
    deps: Deps, ctx: Context, name: str, deployment_id: str, *, error: str, cause: str, step: str | None = None
) -> Deployment:
    """Mark the deployment failed with its cause (audited) and publish `Deployment Failed` once."""

    def mutate(current: Deployment) -> tuple[Deployment | None, dict[str, Any]]:
        if current.status in TERMINAL:
            return None, {}
        failed_step = step or current.step
        updated = current.model_copy(update={
            "status": DeploymentStatus.failed, "step": failed_step, "error": error, "cause": cause[:2000],
            "updated_at": deps.clock(), "finished_at": deps.clock(),
        })  # fmt: skip
        return updated, {"deployment": deployment_id, "step": failed_step, "error": error, "cause": cause[:500]}

    deployment, changed = _update(deps, ctx, name, deployment_id, "deployment.fail", mutate)
    if changed:
        deps.events.publish("Deployment Failed", failed_detail(deployment))
    return deployment


def record_rollout(deps: Deps, ctx: Context, name: str, deployment_id: str, *, status: str,
                   message: str | None, since: datetime | None) -> Deployment:
    """Record the rollout's status when it changed (audited); a finished deployment is left as it is."""

    def mutate(current: Deployment) -> tuple[Deployment | None, dict[str, Any]]:
        rollout = None if current.status in TERMINAL else next_rollout(
            current.rollout, current.settings.strategy, status, message, since)
        if rollout is None:
            return None, {}
        updated = current.model_copy(update={"rollout": rollout, "updated_at": deps.clock()})
        return updated, {"deployment": deployment_id, "rollout": rollout.model_dump(mode="json")}

    return _update(deps, ctx, name, deployment_id, "deployment.rollout", mutate)[0]


def note(deps: Deps, ctx: Context, name: str, deployment_id: str, text: str) -> Deployment:
    """Append a note (e.g. what a failure's clean-up did), audited."""

    def mutate(current: Deployment) -> tuple[Deployment | None, dict[str, Any]]:
        updated = current.model_copy(update={"notes": [*current.notes, text], "updated_at": deps.clock()})
        return updated, {"deployment": deployment_id, "note": text}

    return _update(deps, ctx, name, deployment_id, "deployment.note", mutate)[0]


def succeeded_detail(d: Deployment) -> dict[str, Any]:
    return {
        "deployment_id": d.id, "model": d.model, "version": d.version, "alias": d.alias,
        "endpoint": d.endpoint, "previous_version": d.previous_version,
        "instance_type": d.settings.instance_type, "strategy": d.settings.strategy.type,
        "source": d.source, "notes": d.notes,
    }  # fmt: skip


def failed_detail(d: Deployment) -> dict[str, Any]:
    return {
        "deployment_id": d.id, "model": d.model, "version": d.version, "alias": d.alias,
        "endpoint": d.endpoint, "serving_version": d.previous_version, "step": d.step,
        "error": d.error, "cause": d.cause, "source": d.source,
    }  # fmt: skip


Mutation = Callable[[Deployment], tuple[Deployment | None, dict[str, Any]]]


def _update(deps: Deps, ctx: Context, name: str, deployment_id: str, action: str, mutate: Mutation) -> tuple[Deployment, bool]:
    def release(current: Deployment, updated: Deployment) -> list:
        if updated.status not in TERMINAL:
            return []
        return exclusive.release(deps, name, exclusive.deploy_scope(updated.alias), deployment_id)

    return update_model_record(
        deps, ctx, name, Deployment.key_for(name, deployment_id), Deployment, action=action,
        target=f"{name}/deployments/{deployment_id}", mutate=mutate,
        missing=lambda: DeploymentNotFound(f"model {name!r} has no deployment {deployment_id!r}"),
        also=release,
    )


# --- reads ----------------------------------------------------------------------------------


def get_deployment(deps: Deps, ctx: Context, name: str, deployment_id: str) -> Deployment:
    access.require(ctx.actor, access.READ, name)
    return require_deployment(deps, name, deployment_id)


def require_deployment(deps: Deps, name: str, deployment_id: str, *, consistent: bool = False) -> Deployment:
    found = deps.store.get(Deployment.key_for(name, deployment_id), Deployment, consistent=consistent)
    if found is None:
        require_model(deps, name)
        raise DeploymentNotFound(f"model {name!r} has no deployment {deployment_id!r}")
    return found


def list_deployments(
    deps: Deps, ctx: Context, name: str, *, limit: int = 50, cursor: str | None = None
) -> Page[Deployment]:
    """Newest first, one Query per page."""
    access.require(ctx.actor, access.READ, name)
    page = deps.store.query(
        model_pk(name), Deployment, prefix=DEPLOY_PREFIX, limit=limit, newest_first=True, cursor=cursor
    )
    if not page.items and cursor is None:
        require_model(deps, name)
    return page


def last_settings(deps: Deps, name: str, alias: str, *, scan: int = 25) -> EndpointSettings | None:
    """Settings of the newest succeeded deployment to `alias` among the last `scan` (retrains reuse them)."""
    page = deps.store.query(model_pk(name), Deployment, prefix=DEPLOY_PREFIX, limit=scan, newest_first=True)
    for deployment in page.items:
        if deployment.alias == alias and deployment.status == DeploymentStatus.succeeded:
            return deployment.settings
    return None
