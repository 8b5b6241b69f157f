"""Lambda `monitor steps`: the Task steps of `monitor.asl.json` (dispatch on `step`).

prepare (open the run if the schedule started it; write the drift job's inputs: run.json,
the window's capture manifest, the window's labels; or skip the job when nothing was
captured) → the native CreateProcessingJob → wait_job (one Describe poll) → finish (record
the summary, metrics, `Model Drifted`, the policy's action) — or mark_failed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from functions.adapters.feedback import DynamoFeedback
from functions.adapters.monitoring import CaptureBucket, MonitoringMetrics, ProcessingJobs
from functions.adapters.s3 import S3Objects
from functions.adapters.wiring import build_deps, client
from functions.core import feedback, monitoring
from functions.core.errors import (
    DomainError,
    DriftJobFailed,
    DriftJobTimedOut,
    ImageNotAvailable,
    MonitoringInProgress,
    NotFound,
)
from functions.core.models import ModelVersion
from functions.core.monitoring import MonitoringRun, Outcome
from functions.core.ports import Deps
from functions.core.registry import require_model
from functions.core.semver import SemVer
from functions.monitoring import actions
from functions.monitoring.settings import MonitorStepsSettings
from functions.workflows import steps
from functions.workflows.polling import PollSchedule
from functions.workflows.wiring import once

logger = Logger(service="monitor-steps")


@dataclass(frozen=True)
class MonitorEnv:
    settings: MonitorStepsSettings
    deps: Deps
    captures: CaptureBucket
    labels: DynamoFeedback
    jobs: ProcessingJobs
    metrics: MonitoringMetrics
    objects: S3Objects


@once
def monitor_env() -> MonitorEnv:
    settings = MonitorStepsSettings()  # type: ignore[call-arg] - from the environment
    return MonitorEnv(
        settings=settings, deps=build_deps(settings, client), captures=CaptureBucket(client("s3"), settings.captures_bucket),
        labels=DynamoFeedback(client("dynamodb"), settings.table_name), jobs=ProcessingJobs(client("sagemaker")),
        metrics=MonitoringMetrics(client("cloudwatch")), objects=S3Objects(client("s3")),
    )  # fmt: skip


def run_prefix(run: MonitoringRun) -> str:
    """Where a run's inputs and report live in the captures bucket."""
    return f"monitoring/{run.model}/{run.alias}/{run.id}/"


def job_name(stage: str, run: MonitoringRun) -> str:
    """≤ 63 characters starting with `mp-<stage>-` (IAM scopes processing jobs by it)."""
    digest = hashlib.sha256(f"{run.model}/{run.id}".encode()).hexdigest()[:12]
    return f"{f'mp-{stage}-drift-{run.model}'[:50].rstrip('-')}-{digest}"


def prepare(state: dict[str, Any], env: MonitorEnv) -> dict[str, Any]:
    """The drift job's request (`$.job`), or `{"skip": true}` with why."""
    run = _open(state, env)
    if run is None:
        return {"skip": True, "run_id": None, "reason": "nothing to monitor now (see the logs)"}
    ctx = monitoring.workflow_context(run.id)
    settings = env.settings
    image = settings.cpu_image_uri
    if not image:
        raise ImageNotAvailable("the drift job needs Modelport's CPU image, and the stage has none (MODELPORT_CPU_IMAGE_URI)")
    model = require_model(env.deps, run.model, consistent=True)
    version = env.deps.store.get(ModelVersion.key_for(run.model, SemVer.parse(run.version)), ModelVersion)
    if version is None:
        raise NotFound(f"{run.model} {run.version} no longer exists")
    prefix = run_prefix(run)
    capture_prefix = f"{run.endpoint}/{run.endpoint}/"
    files = env.captures.capture_files(capture_prefix, run.window_start, run.window_end)
    name = job_name(settings.stage, run)
    monitoring.record_step(env.deps, ctx, run.model, run.id, "prepare", processing_job=None if not files else name)
    base = {"run_id": run.id, "model": run.model, "alias": run.alias}
    if not files:
        return {**base, "skip": True, "reason": f"nothing was captured from {run.endpoint} in the window"}
    policy = model.policy.monitoring
    env.captures.put_json(f"{prefix}input/config/run.json", {
        "run_id": run.id, "model": run.model, "alias": run.alias, "version": run.version, "endpoint": run.endpoint,
        "window": {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()},
        "thresholds": policy.drift_thresholds(), "metric": model.policy.metric,
        "baseline_sha256": run.baseline_sha256, "history": _history(env, run),
        "window_dataset": policy.retrain_data.value == "captured_window",
        "target": model.training.hyperparameters.get("target") if model.training else None,
    })  # fmt: skip
    env.captures.put_json(f"{prefix}input/captures.manifest",
                          [{"prefix": env.captures.uri(capture_prefix)}, *files])
    labelled = env.captures.put_lines(f"{prefix}input/labels/labels.jsonl", feedback.label_rows(
        env.labels.labels_between(run.model, run.window_start, run.window_end)))
    poll = int(state.get("poll_seconds", settings.workflow_poll_seconds))
    logger.info("drift job prepared", extra={**base, "files": len(files), "labels": labelled, "job": name})
    return {
        **base, "skip": False, "name": name, "image": image, "instance_type": policy.instance_type,
        "volume_gb": settings.processing_volume_gb, "max_runtime_seconds": settings.processing_max_runtime_seconds,
        "config_uri": env.captures.uri(f"{prefix}input/config/"),
        "manifest_uri": env.captures.uri(f"{prefix}input/captures.manifest"),
        "model_uri": version.artifact.uri, "labels_uri": env.captures.uri(f"{prefix}input/labels/"),
        "report_uri": env.captures.uri(f"{prefix}report"), "poll_seconds": poll,
        "max_polls": _schedule(poll, settings.processing_max_runtime_seconds).max_polls,
    }  # fmt: skip


#: time a drift job may take beyond its MaxRuntimeInSeconds (instance start, upload) before
#: the loop gives up on it; SageMaker itself stops it at its max runtime.
PROCESSING_ALLOWANCE_S = 3600


def _schedule(poll_seconds: int, max_runtime_seconds: int) -> PollSchedule:
    """The wait loop's backoff (functions.workflows.polling): the longest job allowed stays far
    under Step Functions' 25,000 history events."""
    return PollSchedule(base=poll_seconds, budget_seconds=max_runtime_seconds + PROCESSING_ALLOWANCE_S)


def _open(state: dict[str, Any], env: MonitorEnv) -> MonitoringRun | None:
    """The run the API opened, or (a scheduled start) a new one; None when there is nothing
    to run: the alias is no longer deployed, monitoring is off, or a run is going."""
    if state.get("run_id"):
        return monitoring.require_run(env.deps, state["model"], state["run_id"], consistent=True)
    ctx = monitoring.workflow_context(state.get("execution", "schedule"))
    try:
        return monitoring.open_run(env.deps, ctx, state["model"], state.get("alias", "production"),
                                   source="schedule", stage=env.settings.stage)
    except (MonitoringInProgress, DomainError) as refused:
        logger.warning("scheduled drift run not started",
                       extra={"model": state.get("model"), "alias": state.get("alias"), "reason": refused.message})
        return None


def _history(env: MonitorEnv, run: MonitoringRun) -> list[dict[str, Any]]:
    earlier = [r for r in monitoring.recent_runs(env.deps, run.model, limit=env.settings.history_runs * 2)
               if r.alias == run.alias and r.id != run.id and r.outcome is not None]
    return [{"run_id": r.id, "time": r.window_end.strftime("%Y-%m-%dT%H:%M:%SZ"), "scores": r.scores,
             "live_metric": r.live_metric.value if r.live_metric else None}
            for r in earlier[: env.settings.history_runs]]


def check_job(state: dict[str, Any], env: MonitorEnv) -> dict[str, Any]:
    """One Describe poll: done, not yet, or DriftJobFailed / DriftJobTimedOut."""
    job = state["job"]
    ctx = monitoring.workflow_context(job["run_id"])
    monitoring.record_step(env.deps, ctx, job["model"], job["run_id"], "drift_job")
    polls = int((state.get("check") or {}).get("polls", 0)) + 1
    found = env.jobs.describe(job["name"])
    status = found["ProcessingJobStatus"]
    if status == "Completed":
        return {"done": True, "polls": polls}
    if status in ("Failed", "Stopped"):
        reason = found.get("ExitMessage") or found.get("FailureReason") or "no reason given"
        raise DriftJobFailed(f"drift job {job['name']} {status.lower()}: {reason}")
    if polls >= int(job["max_polls"]):
        env.jobs.stop(job["name"])
        raise DriftJobTimedOut(f"drift job {job['name']} still {status} after {polls} polls; it was stopped")
    schedule = _schedule(int(job.get("poll_seconds", env.settings.workflow_poll_seconds)),
                         int(job.get("max_runtime_seconds", env.settings.processing_max_runtime_seconds)))
    return {"done": False, "polls": polls, "status": status, "wait_seconds": schedule.wait_seconds(polls)}


def finish(state: dict[str, Any], env: MonitorEnv) -> dict[str, Any]:
    """Record the summary, publish metrics and `Model Drifted`, and act on the policy."""
    job = state["job"]
    if job.get("run_id") is None:
        return {"outcome": None, "reason": job.get("reason")}
    name, run_id = job["model"], job["run_id"]
    ctx = monitoring.workflow_context(run_id)
    run = monitoring.require_run(env.deps, name, run_id, consistent=True)
    monitoring.record_step(env.deps, ctx, name, run_id, "finish")
    prefix = run_prefix(run)
    if job.get("skip"):
        summary = {"status": Outcome.insufficient_data.value, "records": 0, "rows": 0}
        report_json = report_html = None
    else:
        summary = env.captures.get_json(f"{prefix}report/summary.json")
        if not isinstance(summary, dict) or "status" not in summary:
            raise DriftJobFailed(f"the drift job wrote no summary under {env.captures.uri(prefix + 'report/')}")
        report_json, report_html = env.captures.uri(f"{prefix}report/report.json"), env.captures.uri(
            f"{prefix}report/report.html")
    model = require_model(env.deps, name, consistent=True)
    decided = actions.on_drift(env, model, run, summary, prefix) if summary["status"] == "drift" else actions.NOTHING
    done = monitoring.finish(env.deps, ctx, name, run_id, summary, report_json=report_json, report_html=report_html,
                             action=decided.action, retrain_id=decided.retrain_id, note=decided.note)
    live = done.live_metric
    try:
        env.metrics.publish(name, done.alias, at=done.window_end, drifted=done.drifted, rows=done.rows,
                            scores=done.scores, metric=live.metric if live else None, live=live.value if live else None)
    except Exception:  # metrics are best effort: the record is committed
        logger.exception("could not publish the drift metrics")
    if done.drifted:
        env.deps.events.publish("Model Drifted", monitoring.drifted_detail(done))
    return {"outcome": done.outcome.value if done.outcome else None, "action": done.action,
            "drifted": done.drifted_features, "retrain_id": done.retrain_id}


def mark_failed(state: dict[str, Any], env: MonitorEnv) -> dict[str, Any]:
    job = state.get("job") or {}
    run_id = job.get("run_id") or state.get("run_id")
    if not run_id:
        return {"failed": None}
    error, cause = steps.failure(state)
    monitoring.fail(env.deps, monitoring.workflow_context(run_id), state["model"], run_id, error=error, cause=cause)
    return {"failed": run_id, "error": error}


def execution_ended(state: dict[str, Any], env: MonitorEnv) -> dict[str, Any]:
    """The execution ended where no Catch runs (`steps.ended_execution`: the history quota,
    the machine's timeout, a StopExecution): the run must not stay `running`, or it would
    refuse every later run of the alias. A scheduled execution's input names no run: the
    alias's unfinished one is it (one run per alias at a time)."""
    run_id = state.get("run_id")
    if not run_id and state.get("model"):
        going = [r for r in monitoring.recent_runs(env.deps, state["model"], limit=20)
                 if r.alias == state.get("alias", "production") and r.status not in monitoring.FINISHED]
        run_id = going[0].id if going else None
    if not run_id:
        return {"failed": None}
    found = monitoring.require_run(env.deps, state["model"], run_id, consistent=True)
    if found.status in monitoring.FINISHED:
        return {"failed": None, "status": found.status.value}
    error, cause = steps.failure(state)
    if found.processing_job:  # a drift job left running would go on costing
        env.jobs.stop(found.processing_job)
    monitoring.fail(env.deps, monitoring.workflow_context(run_id), state["model"], run_id, error=error, cause=cause)
    return {"failed": run_id, "error": error}


STEPS = {"prepare": prepare, "wait_job": check_job, "finish": finish, "mark_failed": mark_failed}


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run(STEPS, event, logger, monitor_env, ended=execution_ended)

