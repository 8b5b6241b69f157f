"""Use cases: drift monitoring runs (`MONITOR#<id>` under `MODEL#<name>`).

A run compares one window of a deployed alias's captured traffic with the baseline of the
version it serves (the drift job, a SageMaker Processing job the monitor workflow starts)
and records the outcome: `ok`, `drift` or `insufficient_data`, the drifted features, the
per-feature scores (PSI), and the live value of the policy metric from posted labels.
Every change of the record is audited on the model's chain, and so is what the policy
does about drift (`action`). One run per alias at a time (`exclusive`, scope
`monitor:<alias>`). Runs start on demand (`POST .../monitoring/runs`) or from the alias's
schedule; the monitor steps act as `system_actor("monitor")`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from functions.core import access, exclusive
from functions.core.deployments import WorkflowStarter, new_deployment_id
from functions.core.errors import (
    AliasNotFound,
    BaselineMissing,
    Conflict,
    ModelNotFound,
    MonitoringDisabled,
    MonitoringInProgress,
    MonitoringRunNotFound,
    NotDeployed,
)
from functions.core.governance import PRODUCTION
from functions.core.models import Alias, Model, ModelVersion, system_actor
from functions.core.mutations import Put, change, commit, update_model_record
from functions.core.ports import Context, Deps
from functions.core.records import ItemKey, Record, StepMark, model_pk
from functions.core.registry import require_model
from functions.core.semver import SemVer, validate_alias

#: who may start a run on demand (those who may deploy).
MONITOR = access.ACTIONS["monitor"]  # what GET /v1/whoami reports as `monitor`
MONITOR_PREFIX = "MONITOR#"
RUN_ID_RE = r"^\d{8}-\d{6}-[0-9a-f]{6}$"
STEPS = ("queued", "prepare", "drift_job", "finish", "done")


def workflow_context(request_id: str) -> Context:
    return Context(actor=system_actor("monitor"), request_id=request_id)


def monitor_scope(alias: str) -> str:
    return f"monitor:{alias}"


class RunStatus(StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


FINISHED = frozenset({RunStatus.succeeded, RunStatus.failed})


class Outcome(StrEnum):
    ok = "ok"
    drift = "drift"
    insufficient_data = "insufficient_data"


class LiveMetric(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    value: float | None = None
    #: labelled rows the value is computed on, and labels known for the window.
    n: int = 0
    labels: int = 0


class NewRun(BaseModel):
    """Command: run the drift job now for one alias."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field(default=PRODUCTION, max_length=32)
    window_hours: int | None = Field(default=None, ge=1, le=720, description="default: the policy's")


class MonitoringRun(Record):
    KIND: ClassVar[str] = "monitoring_run"

    id: str
    model: str
    alias: str
    version: str
    endpoint: str
    baseline_sha256: str
    window_start: datetime
    window_end: datetime
    status: RunStatus = RunStatus.pending
    step: str = "queued"
    steps: list[StepMark] = Field(default_factory=list)
    #: `api` or `schedule`.
    source: str = "api"
    requested_by: str
    outcome: Outcome | None = None
    records: int = 0
    rows: int = 0
    unreadable: int = 0
    drifted_features: list[str] = Field(default_factory=list)
    drifted_outputs: list[str] = Field(default_factory=list)
    #: per feature and output: PSI (the drift score over time), and its status.
    scores: dict[str, float | None] = Field(default_factory=dict)
    statuses: dict[str, str] = Field(default_factory=dict)
    live_metric: LiveMetric | None = None
    processing_job: str | None = None
    report_json: str | None = None
    report_html: str | None = None
    #: what the policy did: `none`, `alerted`, `retrain_started`, `retrain_refused`.
    action: str | None = None
    retrain_id: str | None = None
    error: str | None = None
    cause: str | None = None
    note: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.id)

    @staticmethod
    def key_for(model: str, run_id: str) -> ItemKey:
        # run ids are time-ordered, so one Query lists a model's runs newest first
        return ItemKey(model_pk(model), f"{MONITOR_PREFIX}{run_id}")

    @property
    def drifted(self) -> bool:
        return self.outcome is Outcome.drift


# --- opening a run --------------------------------------------------------------------------


def request_run(deps: Deps, ctx: Context, starter: WorkflowStarter, name: str, new: NewRun, *,
                stage: str, poll_seconds: int = 30) -> MonitoringRun:
    """On demand: check, write the pending run (audited), start the monitor workflow."""
    access.require(ctx.actor, MONITOR, name, doing="running the drift job")
    run = open_run(deps, ctx, name, new.alias, source="api", window_hours=new.window_hours, stage=stage)
    try:
        starter.start(run.id, workflow_input(run, poll_seconds))
    except Exception as error:
        fail(deps, workflow_context(ctx.request_id), name, run.id, error=type(error).__name__,
             cause="the monitor workflow could not be started")
        raise
    return run


def open_run(deps: Deps, ctx: Context, name: str, alias: str, *, source: str, stage: str,
             window_hours: int | None = None) -> MonitoringRun:
    """Write a pending run for the alias's deployed version, or refuse with why not.

    Refusals: the model or alias does not exist, nothing is deployed behind the alias,
    monitoring is disabled, the version has no baseline, or a run of the alias is going.
    """
    validate_alias(alias)

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        policy = model.policy.monitoring
        if not policy.enabled:
            raise MonitoringDisabled(f"monitoring of {name} is disabled by its policy (monitoring.enabled)")
        found = deps.store.get(Alias.key_for(name, alias), Alias, consistent=True)
        if found is None:
            raise AliasNotFound(f"model {name!r} has no alias {alias!r}")
        if not found.endpoint:
            raise NotDeployed(f"{name}:{alias} is not deployed: there is no traffic to monitor")
        version = deps.store.get(ModelVersion.key_for(name, SemVer.parse(found.version)), ModelVersion, consistent=True)
        if version is None or not version.lineage.baseline_sha256:
            raise BaselineMissing(
                f"{name} {found.version} has no baseline profile to compare traffic with; the reference trainer "
                "writes one, and `modelport push --baseline train.csv` adds one to a model trained elsewhere"
            )
        now = deps.clock()
        run_id = new_deployment_id(now, deps.new_id())
        one_at_a_time = exclusive.claim(
            deps, name, monitor_scope(alias), run_id,
            running=lambda other: _unfinished(deps, name, other), refused=_in_progress,
            raced=MonitoringInProgress(f"another drift run of {name}:{alias} started at the same moment"),
        )
        hours = window_hours or policy.window_hours
        run = MonitoringRun(
            id=run_id, model=name, alias=alias, version=found.version, endpoint=found.endpoint,
            baseline_sha256=version.lineage.baseline_sha256, window_start=now - timedelta(hours=hours),
            window_end=now, source=source, requested_by=ctx.actor.id, created_at=now, updated_at=now,
            steps=[StepMark(step="queued", at=now)],
        )  # fmt: skip
        uow = change(deps, ctx, head, action="monitoring.start", target=f"{name}:{alias}",
                     details={"run": run_id, "version": found.version, "source": source, "window_hours": hours},
                     writes=[Put(run, if_absent=Conflict(f"run {run_id} exists; retry")), one_at_a_time])
        return uow, run

    return commit(deps, build)


def workflow_input(run: MonitoringRun, poll_seconds: int) -> dict[str, Any]:
    """The monitor workflow's input (docs/contracts.md, "Monitor workflow")."""
    return {"run_id": run.id, "model": run.model, "alias": run.alias, "poll_seconds": poll_seconds}


def _unfinished(deps: Deps, name: str, run_id: str) -> MonitoringRun | None:
    found = deps.store.get(MonitoringRun.key_for(name, run_id), MonitoringRun, consistent=True)
    return found if found is not None and found.status not in FINISHED else None


def _in_progress(running: MonitoringRun) -> MonitoringInProgress:
    return MonitoringInProgress(
        f"drift run {running.id} of {running.model}:{running.alias} is {running.status.value} "
        f"(step {running.step}); one run per alias at a time"
    )


# --- progress and outcome, written by the monitor steps --------------------------------------


def record_step(deps: Deps, ctx: Context, name: str, run_id: str, step: str, **fields: Any) -> MonitoringRun:
    def mutate(current: MonitoringRun):
        if current.status in FINISHED:
            return None, {}
        same = current.step == step and all(getattr(current, k) == v for k, v in fields.items())
        if same and current.status is RunStatus.running:
            return None, {}
        steps = current.steps if current.step == step else [*current.steps, StepMark(step=step, at=deps.clock())]
        updated = current.model_copy(update={"status": RunStatus.running, "step": step, "steps": steps,
                                             "updated_at": deps.clock(), **fields})
        return updated, {"run": run_id, "step": step, **{k: v for k, v in fields.items() if isinstance(v, str)}}

    return _update(deps, ctx, name, run_id, "monitoring.step", mutate)[0]


def finish(deps: Deps, ctx: Context, name: str, run_id: str, summary: dict[str, Any], *,
           report_json: str | None, report_html: str | None, action: str, retrain_id: str | None = None,
           note: str | None = None) -> MonitoringRun:
    """Record the drift job's summary and what the policy did (audited), once."""
    live = summary.get("live_metric") or {}

    def mutate(current: MonitoringRun):
        if current.status in FINISHED:
            return None, {}
        now = deps.clock()
        updated = current.model_copy(update={
            "status": RunStatus.succeeded, "step": "done", "outcome": Outcome(summary["status"]),
            "steps": [*current.steps, StepMark(step="done", at=now)], "updated_at": now, "finished_at": now,
            "records": summary.get("records", 0), "rows": summary.get("rows", 0),
            "unreadable": summary.get("unreadable", 0),
            "drifted_features": list(summary.get("drifted_features") or []),
            "drifted_outputs": list(summary.get("drifted_outputs") or []),
            "scores": dict(summary.get("scores") or {}), "statuses": dict(summary.get("statuses") or {}),
            "live_metric": LiveMetric(**live) if live.get("metric") else None,
            "report_json": report_json, "report_html": report_html, "action": action,
            "retrain_id": retrain_id, "note": note,
        })  # fmt: skip
        return updated, {"run": run_id, "outcome": summary["status"], "drifted": updated.drifted_features,
                         "action": action, "retrain": retrain_id}

    return _update(deps, ctx, name, run_id, f"monitoring.{summary['status']}", mutate)[0]


def fail(deps: Deps, ctx: Context, name: str, run_id: str, *, error: str, cause: str) -> MonitoringRun:
    def mutate(current: MonitoringRun):
        if current.status in FINISHED:
            return None, {}
        updated = current.model_copy(update={"status": RunStatus.failed, "error": error, "cause": cause[:2000],
                                             "updated_at": deps.clock(), "finished_at": deps.clock()})
        return updated, {"run": run_id, "step": current.step, "error": error, "cause": cause[:500]}

    return _update(deps, ctx, name, run_id, "monitoring.fail", mutate)[0]


def drifted_detail(run: MonitoringRun) -> dict[str, Any]:
    """`Model Drifted` (EventBridge): what drifted, by how much, and what the policy did."""
    return {
        "run_id": run.id, "model": run.model, "alias": run.alias, "version": run.version,
        "endpoint": run.endpoint, "drifted_features": run.drifted_features,
        "drifted_outputs": run.drifted_outputs,
        "scores": {k: v for k, v in run.scores.items() if k in (*run.drifted_features, *run.drifted_outputs)},
        "window": {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()},
        "rows": run.rows, "report": run.report_html, "action": run.action, "retrain_id": run.retrain_id,
    }  # fmt: skip


def _update(deps: Deps, ctx: Context, name: str, run_id: str, action: str, mutate):
    def release(current: MonitoringRun, updated: MonitoringRun) -> list:
        if updated.status not in FINISHED:
            return []
        return exclusive.release(deps, name, monitor_scope(updated.alias), run_id)

    return update_model_record(
        deps, ctx, name, MonitoringRun.key_for(name, run_id), MonitoringRun, action=action,
        target=f"{name}/monitoring/{run_id}", mutate=mutate,
        missing=lambda: MonitoringRunNotFound(f"model {name!r} has no drift run {run_id!r}"), also=release,
    )


# --- reads ----------------------------------------------------------------------------------


def require_run(deps: Deps, name: str, run_id: str, *, consistent: bool = False) -> MonitoringRun:
    found = deps.store.get(MonitoringRun.key_for(name, run_id), MonitoringRun, consistent=consistent)
    if found is None:
        require_model(deps, name)
        raise MonitoringRunNotFound(f"model {name!r} has no drift run {run_id!r}")
    return found


def get_run(deps: Deps, ctx: Context, name: str, run_id: str) -> MonitoringRun:
    access.require(ctx.actor, access.READ, name)
    return require_run(deps, name, run_id)


def recent_runs(deps: Deps, name: str, *, limit: int = 200) -> list[MonitoringRun]:
    """The model's runs, newest first, every alias (one Query per page of up to 100)."""
    runs: list[MonitoringRun] = []
    cursor = None
    while len(runs) < limit:
        page = deps.store.query(model_pk(name), MonitoringRun, prefix=MONITOR_PREFIX, newest_first=True,
                                limit=min(100, limit - len(runs)), cursor=cursor)
        runs += page.items
        cursor = page.cursor
        if cursor is None:
            break
    return runs
