"""Lambda `deploy steps`: the Task steps of `deploy.asl.json` (dispatch on `step`).

Each step records itself on the deployment (`DEPLOY#<id>`: status, current step) before
it acts, so `GET /v1/models/{name}/deployments/{id}` shows live progress. The SageMaker
creates (model, endpoint config, endpoint create/update) are native Tasks between these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from functions.adapters.apigateway import AuthorizerCache
from functions.adapters.autoscaling import EndpointAutoscaling, Scaling
from functions.adapters.cloudwatch import EndpointAlarms
from functions.adapters.monitoring import MonitorSchedules
from functions.adapters.sagemaker import SageMakerEndpoints
from functions.adapters.wiring import build_deps, client
from functions.core import deployments, governance, monitoring_schedules
from functions.core.deployments import check_deployable, require_deployment, workflow_context
from functions.core.endpoints import EndpointSettings, require_owner
from functions.core.errors import EndpointBusy, EndpointFailed, EndpointRolledBack, EndpointTimedOut
from functions.core.models import Alias
from functions.core.ports import Deps, NoCache
from functions.core.records import ALIAS_PREFIX, model_pk
from functions.core.registry import find_version, require_model
from functions.core.rollout import observed_status
from functions.core.semver import VersionSpec
from functions.workflows import steps
from functions.workflows.deploy_plan import VARIANT, build_plan, poll_schedule
from functions.workflows.roles import execution_role
from functions.workflows.settings import DeployStepsSettings
from functions.workflows.wiring import once

logger = Logger(service="deploy-steps")
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
#: aliases whose endpoints' rollback alarms reach the operators (the stage's alarm topic);
#: a rolled-back canary on another alias is its deployment's own failure, not a page.
NOTIFIED_ALIASES = frozenset({"production"})


@dataclass(frozen=True)
class DeployEnv:
    """What the deploy steps use; `deploy_env()` builds it from the environment."""

    settings: DeployStepsSettings
    deps: Deps
    endpoints: SageMakerEndpoints
    alarms: EndpointAlarms
    scaling: EndpointAutoscaling
    cache: AuthorizerCache | None
    #: drift-monitoring schedules (None when the stage has no monitor workflow configured).
    schedules: MonitorSchedules | None = None


@once
def deploy_env() -> DeployEnv:
    settings = DeployStepsSettings()  # type: ignore[call-arg] - from the environment
    cache = None
    if settings.rest_api_id and settings.api_stage_name:
        cache = AuthorizerCache(client("apigateway"), settings.rest_api_id, settings.api_stage_name)
    schedules = None
    if settings.monitor_state_machine_arn and settings.scheduler_role_arn and settings.schedule_group:
        schedules = MonitorSchedules(client("scheduler"), settings.schedule_group, settings.monitor_state_machine_arn,
                                     settings.scheduler_role_arn)
    return DeployEnv(
        settings=settings, deps=build_deps(settings, client), endpoints=SageMakerEndpoints(client("sagemaker")),
        alarms=EndpointAlarms(client("cloudwatch")), scaling=EndpointAutoscaling(client("application-autoscaling")),
        cache=cache, schedules=schedules,
    )  # fmt: skip


def _ctx(state: dict[str, Any]):
    return workflow_context(state["deployment_id"])


def _mark(env: DeployEnv, state: dict[str, Any], step: str) -> None:
    deployments.record_step(env.deps, _ctx(state), state["model"], state["deployment_id"], step)


def validate(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Version exists and its artifact is verified, approval where the alias needs it, the
    instance type is allowed and an image serves it, the endpoint is not busy → the plan."""
    _mark(env, state, "validate")
    deps, name = env.deps, state["model"]
    deployment = require_deployment(deps, name, state["deployment_id"], consistent=True)
    model = require_model(deps, name, consistent=True)
    version = find_version(deps, name, VersionSpec.parse(deployment.version), consistent=True)
    check_deployable(model, version, deployment.alias, deployment.image)
    require_owner(deps, deployment.endpoint, name, deployment.alias)  # never another alias's endpoint
    governance.verify_artifact(deps, version)
    image = env.settings.rules().check(deployment.settings, deployment.image)
    current = env.endpoints.describe_endpoint(deployment.endpoint)
    if current is not None and current["EndpointStatus"] != "InService":
        raise EndpointBusy(
            f"endpoint {deployment.endpoint} is {current['EndpointStatus']}; "
            "wait for the operation in progress (or delete a failed endpoint) and deploy again"
        )
    config = env.endpoints.describe_endpoint_config(current["EndpointConfigName"]) if current else None
    # the model's own execution role: its artifacts, datasets and its endpoints' captures only
    aliases = deps.store.query(model_pk(name), Alias, prefix=ALIAS_PREFIX, limit=100, consistent=True).items
    endpoints = tuple(sorted({a.endpoint for a in aliases if a.endpoint} | {deployment.endpoint}))
    role_arn = execution_role(env.settings, model, endpoints=endpoints, image=image)
    plan = build_plan(state, image=image, allow_pickle=model.policy.allow_pickle,
                      model_data_url=version.artifact.uri, current=current,
                      current_config=config, role_arn=role_arn)
    _mark(env, state, "create_model")
    return plan


def prepare_rollout(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """The endpoint's rollback alarms and DeploymentConfig; autoscaling off when the update
    changes the instance type (SageMaker refuses that update of an autoscaled variant)."""
    _mark(env, state, "prepare_rollout")
    plan = state["plan"]
    settings = EndpointSettings.model_validate(state["settings"])
    topic = env.settings.alarm_topic_arn
    notify = (topic,) if topic and state["alias"] in NOTIFIED_ALIASES else ()
    alarms = env.alarms.ensure(plan["endpoint"], VARIANT, settings, notify)
    removed = None
    if plan["update"] and plan.get("previous_instance_type") not in (None, settings.instance_type):
        current = env.scaling.describe(plan["endpoint"], VARIANT)
        if current is not None:
            env.scaling.remove(plan["endpoint"], VARIANT)
            removed = current.model_dump()
    _mark(env, state, "update_endpoint" if plan["update"] else "create_endpoint")
    return {"alarms": alarms, "deployment_config": settings.deployment_config(alarms), "scaling_removed": removed}


def check_endpoint(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """One Describe poll: ready, not yet (with the wait before the next poll: the loop backs
    off, see functions.workflows.polling), or a named failure (Catch → MarkFailed)."""
    _mark(env, state, "wait_endpoint")
    plan = state["plan"]
    polls = int((state.get("endpoint_status") or {}).get("polls", 0)) + 1
    found = env.endpoints.describe_endpoint(plan["endpoint"])
    if found is None:
        raise EndpointFailed(f"endpoint {plan['endpoint']} no longer exists")
    observed = observed_status(found)
    if observed is not None:
        status_now, message, since = observed
        deployments.record_rollout(env.deps, _ctx(state), state["model"], state["deployment_id"],
                                   status=status_now, message=message, since=since)
    status, config = found["EndpointStatus"], found.get("EndpointConfigName")
    reason = found.get("FailureReason") or "no reason given"
    if status == "InService" and config == plan["config_name"]:
        return {"ready": True, "polls": polls, "status": status}
    if status == "InService":
        raise EndpointRolledBack(
            f"SageMaker rolled the update of {plan['endpoint']} back; {plan['previous_config']} keeps serving: {reason}"
        )
    if status in BUSY:
        if polls >= int(plan["max_polls"]):
            raise EndpointTimedOut(f"endpoint {plan['endpoint']} is still {status} after {polls} polls")
        schedule = poll_schedule(EndpointSettings.model_validate(state["settings"]), int(plan["poll_seconds"]))
        return {"ready": False, "polls": polls, "status": status, "wait_seconds": schedule.wait_seconds(polls)}
    raise EndpointFailed(f"endpoint {plan['endpoint']} is {status}: {reason}")


def autoscaling(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Scalable target [min, max] and target tracking on SageMakerVariantInvocationsPerInstance."""
    _mark(env, state, "autoscaling")
    settings = EndpointSettings.model_validate(state["settings"])
    scaling = Scaling(min_instances=settings.min_instances, max_instances=settings.max_instances,
                      target_invocations=settings.target_invocations_per_instance)
    env.scaling.configure(state["plan"]["endpoint"], VARIANT, scaling)
    return scaling.model_dump()


def move_alias(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Point the alias at the version and record the endpoint on it (audited)."""
    _mark(env, state, "move_alias")
    # FlushAuthorizerCache, next, flushes (and records a failure); set_alias's own
    # best-effort flush would be a second call
    deps = dataclasses.replace(env.deps, authorizer_cache=NoCache())
    alias = governance.set_alias(deps, _ctx(state), state["model"], state["alias"], state["version"],
                                 endpoint=state["plan"]["endpoint"], deployment_id=state["deployment_id"])
    return {"alias": alias.alias, "version": alias.version, "endpoint": alias.endpoint}


def flush_cache(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Flush the API's authorizer cache, so routing follows the alias at once."""
    _mark(env, state, "flush_cache")
    if env.cache is None:
        return {"flushed": False, "reason": "no API is configured (MODELPORT_REST_API_ID)"}
    env.cache.flush()
    return {"flushed": True}


def finish(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Record the deployment succeeded (audited; `Deployment Succeeded`)."""
    notes = []
    if state.get("flush_error"):
        _, cause = steps.failure({"error": state["flush_error"]})
        notes.append(f"the authorizer cache was not flushed ({cause}); routing follows within its TTL")
    notes += _schedule_monitoring(env, state)
    done = deployments.succeed(env.deps, _ctx(state), state["model"], state["deployment_id"], notes=notes)
    return {"status": done.status.value}


def _schedule_monitoring(env: DeployEnv, state: dict[str, Any]) -> list[str]:
    """The alias's drift-monitoring schedule, from the model's policy (best effort: a note)."""
    if env.schedules is None:
        return []
    try:
        model = require_model(env.deps, state["model"], consistent=True)
        monitoring_schedules.sync(env.schedules, model, state["alias"], deployed=True)
    except Exception as error:
        logger.exception("could not schedule drift monitoring")
        return [f"drift monitoring was not scheduled ({type(error).__name__}: {error})"]
    return []


def mark_failed(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """Record the failure and its cause (audited; `Deployment Failed`) after putting back
    what this deployment changed: the alias never moved, so the previous version serves."""
    error, cause = steps.failure(state)
    notes = _undo(env, state)
    ctx, name, deployment_id = _ctx(state), state["model"], state["deployment_id"]
    for text in notes:
        deployments.note(env.deps, ctx, name, deployment_id, text)
    failed = deployments.fail(env.deps, ctx, name, deployment_id, error=error, cause=cause,
                              step=state.get("failed_step"))
    return {"status": failed.status.value, "error": error}


def _undo(env: DeployEnv, state: dict[str, Any]) -> list[str]:
    plan = state.get("plan")
    if not plan:
        return []  # failed before anything was created
    endpoint, ours = plan["endpoint"], plan["config_name"]
    alias = env.deps.store.get(Alias.key_for(state["model"], state["alias"]), Alias, consistent=True)
    if alias is not None and alias.version == state["version"] and alias.endpoint == endpoint:
        return []  # the switch completed; nothing to put back
    found = env.endpoints.describe_endpoint(endpoint)
    notes = []
    if found is not None and ours in (found.get("EndpointConfigName"), _pending_config(found)):
        if not plan["update"]:
            env.endpoints.delete_endpoint(endpoint)
            notes.append(f"deleted endpoint {endpoint}, which this deployment created and nothing served from")
        elif found["EndpointStatus"] == "InService" and plan.get("previous_config"):
            env.endpoints.update_endpoint(endpoint, plan["previous_config"])
            notes.append(f"rolled endpoint {endpoint} back to {plan['previous_config']}")
        else:
            notes.append(
                f"endpoint {endpoint} is still {found['EndpointStatus']} with this deployment's configuration; "
                "if SageMaker completes that update the endpoint serves this version while the alias does not: "
                "deploy again to reconcile"
            )
    removed = (state.get("rollout") or {}).get("scaling_removed")
    if removed and plan["update"]:
        env.scaling.configure(endpoint, VARIANT, Scaling.model_validate(removed))
        notes.append("restored the previous autoscaling of the endpoint")
    return notes


def execution_ended(state: dict[str, Any], env: DeployEnv) -> dict[str, Any]:
    """The execution ended where no Catch runs (`steps.ended_execution`: the history quota,
    the state machine's timeout, a StopExecution): the record must not stay `running`.

    The alias serving this version from this endpoint means the switch completed, so the
    deployment succeeded; otherwise it failed, and the endpoint is named for whoever checks
    it (the plan, which says what to put back, died with the execution).
    """
    ctx, name, deployment_id = _ctx(state), state["model"], state["deployment_id"]
    deployment = require_deployment(env.deps, name, deployment_id, consistent=True)
    if deployment.status in deployments.TERMINAL:
        return {"status": deployment.status.value, "changed": False}
    error, cause = steps.failure(state)
    alias = env.deps.store.get(Alias.key_for(name, deployment.alias), Alias, consistent=True)
    if alias is not None and (alias.version, alias.endpoint) == (deployment.version, deployment.endpoint):
        done = deployments.succeed(env.deps, ctx, name, deployment_id,
                                   notes=[f"{cause}; the alias had already moved"])
        return {"status": done.status.value, "changed": True}
    deployments.note(env.deps, ctx, name, deployment_id,
                     f"nothing was put back: check endpoint {deployment.endpoint} (it may hold this deployment's "
                     "configuration while the alias does not) and deploy again to reconcile")
    failed = deployments.fail(env.deps, ctx, name, deployment_id, error=error, cause=cause)
    return {"status": failed.status.value, "changed": True}


def _pending_config(found: dict[str, Any]) -> str | None:
    return (found.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")


STEPS = {
    "validate": validate,
    "prepare_rollout": prepare_rollout,
    "wait_endpoint": check_endpoint,
    "autoscaling": autoscaling,
    "move_alias": move_alias,
    "flush_cache": flush_cache,
    "finish": finish,
    "mark_failed": mark_failed,
}


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run(STEPS, event, logger, deploy_env, ended=execution_ended)
