"""Lambda `retrain steps`: the Task steps of `retrain.asl.json` (dispatch on `step`).

train (the job request; CreateTrainingJob itself is a native Task) → wait_training (one
Describe poll) → evaluate (metrics.json of the output vs production) → reject, or
register (a patch bump with lineage, artifact copied with its SHA-256 verified) → finish
(by policy: stop, submit for approval, or deploy to `staging`) — or mark_failed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from functions.adapters.s3 import S3Objects
from functions.adapters.sagemaker import SageMakerTraining
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps, client
from functions.core import deployments, governance, policy_rules, retraining
from functions.core.endpoints import EndpointSettings, is_gpu_instance
from functions.core.errors import (
    ArtifactNotVerified,
    DomainError,
    ImageNotAvailable,
    MetricsMissing,
    TrainingFailed,
    TrainingTimedOut,
)
from functions.core.models import SHA256_RE, RetrainAction, Signature
from functions.core.ports import Deps
from functions.core.registry import require_model
from functions.core.retraining import RetrainOutcome, require_retrain, workflow_context
from functions.workflows import steps
from functions.workflows.polling import PollSchedule
from functions.workflows.roles import execution_role
from functions.workflows.settings import RetrainStepsSettings
from functions.workflows.wiring import once

logger = Logger(service="retrain-steps")
STAGING = "staging"
#: time a training job may take beyond its MaxRuntimeInSeconds (instance start, upload of the
#: output) before the loop gives up on it; SageMaker itself stops it at its max runtime.
TRAINING_ALLOWANCE_S = 3600
_FRAMEWORKS = ("sklearn", "xgboost", "onnx", "torchscript", "python")


@dataclass(frozen=True)
class RetrainEnv:
    """What the retrain steps use; `retrain_env()` builds it from the environment."""

    settings: RetrainStepsSettings
    deps: Deps
    training: SageMakerTraining
    objects: S3Objects
    #: the deploy workflow (policy `deploy_staging`); None when not configured.
    deploy: StateMachine | None


@once
def retrain_env() -> RetrainEnv:
    settings = RetrainStepsSettings()  # type: ignore[call-arg] - from the environment
    deploy = None
    if settings.deploy_state_machine_arn:
        deploy = StateMachine(client("stepfunctions"), settings.deploy_state_machine_arn)
    return RetrainEnv(settings=settings, deps=build_deps(settings, client),
                      training=SageMakerTraining(client("sagemaker")), objects=S3Objects(client("s3")), deploy=deploy)


def _ctx(state: dict[str, Any]):
    return workflow_context(state["retrain_id"])


def _mark(env: RetrainEnv, state: dict[str, Any], step: str, **fields: Any) -> None:
    retraining.record_step(env.deps, _ctx(state), state["model"], state["retrain_id"], step, **fields)


def job_name(stage: str, model: str, retrain_id: str) -> str:
    """≤ 63 characters, starting with `mp-<stage>-` (IAM scopes training jobs by it), one per retrain."""
    digest = hashlib.sha256(retrain_id.encode()).hexdigest()[:12]
    return f"{f'mp-{stage}-{model}'[:50].rstrip('-')}-{digest}"


def train(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """The training job request from the model's training spec (`$.job`)."""
    settings, name = env.settings, state["model"]
    model = require_model(env.deps, name, consistent=True)
    policy_rules.require_training_code_allowed(model)  # an image of the model's own is its code
    spec = model.training
    image = spec.image or (settings.gpu_image_uri if is_gpu_instance(spec.instance_type) else settings.cpu_image_uri)
    if not image:
        kind = "GPU" if is_gpu_instance(spec.instance_type) else "CPU"
        raise ImageNotAvailable(f"no training image: {name}'s training spec names none and the stage has no {kind} image")
    job = job_name(settings.stage, name, state["retrain_id"])
    role_arn = execution_role(settings, model, image=image)  # the model's own prefixes only
    _mark(env, state, "train", training_job=job)
    poll = int(state.get("poll_seconds", settings.workflow_poll_seconds))
    schedule = _schedule(poll, settings.training_max_runtime_seconds)
    return {
        "name": job,
        "image": image,
        "role_arn": role_arn,
        "instance_type": spec.instance_type,
        # SageMaker takes hyperparameters as strings only
        "hyperparameters": {k: str(v) for k, v in spec.hyperparameters.items()},
        "volume_gb": settings.training_volume_gb,
        "max_runtime_seconds": settings.training_max_runtime_seconds,
        "poll_seconds": poll,
        "max_polls": schedule.max_polls,
    }


def _schedule(poll_seconds: int, max_runtime_seconds: int) -> PollSchedule:
    return PollSchedule(base=poll_seconds, budget_seconds=max_runtime_seconds + TRAINING_ALLOWANCE_S)


def check_training(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """One Describe poll: done (with the output's URI), not yet (and how long to wait before
    the next poll: the loop backs off, see functions.workflows.polling), or TrainingFailed/TimedOut."""
    _mark(env, state, "wait_training")
    job = state["job"]
    polls = int((state.get("training") or {}).get("polls", 0)) + 1
    found = env.training.describe_training_job(job["name"])
    status = found["TrainingJobStatus"]
    if status == "Completed":
        return {"done": True, "polls": polls, "artifacts": found["ModelArtifacts"]["S3ModelArtifacts"]}
    if status in ("Failed", "Stopped"):
        raise TrainingFailed(f"training job {job['name']} {status.lower()}: {found.get('FailureReason') or 'no reason given'}")
    if polls >= int(job["max_polls"]):
        env.training.stop_training_job(job["name"])
        raise TrainingTimedOut(f"training job {job['name']} still {status} after {polls} polls; it was stopped")
    schedule = _schedule(int(job.get("poll_seconds", env.settings.workflow_poll_seconds)),
                         int(job.get("max_runtime_seconds", env.settings.training_max_runtime_seconds)))
    return {"done": False, "polls": polls, "status": status, "wait_seconds": schedule.wait_seconds(polls)}


def evaluate(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """Read metrics.json (and modelport.json) from the output; compare with production."""
    _mark(env, state, "evaluate")
    uri = state["training"]["artifacts"]
    try:
        archive = env.objects.read_archive(uri, ("metrics.json", "modelport.json"))
    except ValueError as error:
        raise MetricsMissing(str(error)) from None
    metrics = _metrics(archive.files.get("metrics.json"), uri)
    manifest = _json(archive.files.get("modelport.json")) or {}
    model = require_model(env.deps, state["model"], consistent=True)
    baseline = retraining.production_version(env.deps, model.name)
    evaluation = retraining.evaluate(model.policy, metrics, baseline)
    _mark(env, state, "evaluate", metrics=metrics, evaluation=evaluation)
    framework = manifest.get("framework")
    try:
        signature = Signature.model_validate(manifest.get("signature") or {}).model_dump(mode="json")
    except ValueError:
        signature = Signature().model_dump(mode="json")
    return {
        "accepted": evaluation.accepted, "reason": evaluation.reason, "metrics": metrics,
        "sha256": archive.sha256, "size": archive.size, "signature": signature,
        "framework": framework if framework in _FRAMEWORKS else None,
        # the trainer's baseline profile, hashed into the lineage (the drift job checks it)
        "baseline_sha256": _sha256((manifest.get("files") or {}).get("baseline.json")),
        "code_revision": code_revision((state.get("job") or {}).get("image"), manifest.get("code")),
    }  # fmt: skip


def reject(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    done = retraining.finish(env.deps, _ctx(state), state["model"], state["retrain_id"],
                             RetrainOutcome.rejected_by_evaluation)
    return {"outcome": done.outcome.value if done.outcome else None}


def register(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """Publish the candidate (patch bump, lineage) and copy its artifact into place, verified."""
    _mark(env, state, "register")
    found = state["evaluation"]
    retrain = require_retrain(env.deps, state["model"], state["retrain_id"], consistent=True)
    version = retraining.register_candidate(
        env.deps, _ctx(state), retrain, sha256=found["sha256"], size=found["size"], framework=found["framework"],
        signature=Signature.model_validate(found["signature"]), metrics=found["metrics"],
        code_revision=state.get("code_revision") or found.get("code_revision"), baseline_sha256=found.get("baseline_sha256"),
    )
    copied = env.objects.copy(state["training"]["artifacts"], version.artifact.uri)
    if copied is not None and copied != found["sha256"]:
        raise ArtifactNotVerified(
            f"the training output changed after evaluation: its copy's SHA-256 is {copied}, not {found['sha256']}"
        )
    governance.verify_artifact(env.deps, version)
    _mark(env, state, "register", new_version=version.version)
    return {"version": version.version, "artifact": version.artifact.uri}


def finish(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """Apply the model's policy to the new version, then record the outcome."""
    _mark(env, state, "finish")
    name, version = state["model"], state["registered"]["version"]
    model = require_model(env.deps, name, consistent=True)
    fields: dict[str, Any] = {"new_version": version}
    outcome = RetrainOutcome.registered
    try:
        if model.policy.on_retrain is RetrainAction.submit:
            governance.submit(env.deps, _ctx(state), name, version)
            outcome = RetrainOutcome.submitted
        elif model.policy.on_retrain is RetrainAction.deploy_staging:
            fields["deployment_id"] = _deploy_staging(env, state, version)
            outcome = RetrainOutcome.deploying
    except DomainError as error:
        # the version is registered either way; say why the policy's next step did not happen
        fields["note"] = f"{model.policy.on_retrain.value} did not happen: {error.code}: {error.message}"
    done = retraining.finish(env.deps, _ctx(state), name, state["retrain_id"], outcome, **fields)
    return {"outcome": done.outcome.value if done.outcome else None, **fields}


def _deploy_staging(env: RetrainEnv, state: dict[str, Any], version: str) -> str:
    if env.deploy is None:
        raise ImageNotAvailable("the deploy workflow is not configured (MODELPORT_DEPLOY_STATE_MACHINE_ARN)")
    rules = env.settings.rules()
    settings = deployments.last_settings(env.deps, state["model"], STAGING) or _default_settings(rules.allowed_instance_types)
    new = deployments.NewDeployment(version=version, alias=STAGING, settings=settings)
    started = deployments.start_deployment(
        env.deps, _ctx(state), rules, env.deploy, state["model"], new,
        poll_seconds=int(state.get("poll_seconds", env.settings.workflow_poll_seconds)),
        source=f"retrain:{state['retrain_id']}",
    )
    return started.id


def _default_settings(allowed: tuple[str, ...]) -> EndpointSettings:
    """The default settings, on the first CPU instance type the stage allows."""
    cpu = [t for t in allowed if not is_gpu_instance(t)]
    return EndpointSettings(instance_type=(cpu or list(allowed))[0])


def mark_failed(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    error, cause = steps.failure(state)
    fields: dict[str, Any] = {"error": error, "cause": cause}
    if state.get("failed_step"):
        fields["step"] = state["failed_step"]
    done = retraining.finish(env.deps, _ctx(state), state["model"], state["retrain_id"], RetrainOutcome.failed,
                             **fields)
    return {"outcome": done.outcome.value if done.outcome else None, "error": error}


def execution_ended(state: dict[str, Any], env: RetrainEnv) -> dict[str, Any]:
    """The execution ended where no Catch runs (`steps.ended_execution`): stop the training
    job it may have left running and record the retrain failed, so it never stays `running`."""
    retrain = require_retrain(env.deps, state["model"], state["retrain_id"], consistent=True)
    if retrain.status in retraining.FINISHED:
        return {"status": retrain.status.value, "changed": False}
    error, cause = steps.failure(state)
    if retrain.training_job:
        try:
            found = env.training.describe_training_job(retrain.training_job)
        except ClientError:  # never created: the execution died before CreateTrainingJob
            found = {}
        if found.get("TrainingJobStatus") == "InProgress":
            env.training.stop_training_job(retrain.training_job)
            cause = f"{cause}; training job {retrain.training_job} was stopped"
    done = retraining.finish(env.deps, _ctx(state), state["model"], state["retrain_id"], RetrainOutcome.failed,
                             error=error, cause=cause)
    return {"status": done.status.value, "changed": True}


_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def code_revision(image: str | None, code: Any) -> str | None:
    """What produced a retrain's output: the trainer (or the user's entry point) with its
    version and the SHA-256 of its code, as the training process reported it in the
    manifest's `code`, and the image it ran in (whose `@sha256:` digest, when the image is
    pinned by one, is part of its reference). An image that reported nothing is named alone."""
    parts = []
    if isinstance(code, dict):
        trainer, version, digest = (str(code.get(k) or "")[:128] for k in ("trainer", "version", "sha256"))
        if trainer:
            parts.append(f"{trainer}@{version}" if version else trainer)
        if _DIGEST.match(digest):
            parts.append(f"sha256:{digest}")
    if image:
        parts.append(f"image {image}")
    return " ".join(parts)[:512] or None


def _metrics(raw: bytes | None, uri: str) -> dict[str, float]:
    data = _json(raw)
    if not isinstance(data, dict):
        raise MetricsMissing(f"{uri} holds no metrics.json object")
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _sha256(value: Any) -> str | None:
    """A manifest's file hash, if it is one (a malformed manifest leaves the lineage without it)."""
    return value if isinstance(value, str) and re.fullmatch(SHA256_RE, value) else None


def _json(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


STEPS = {
    "train": train,
    "wait_training": check_training,
    "evaluate": evaluate,
    "reject": reject,
    "register": register,
    "finish": finish,
    "mark_failed": mark_failed,
}


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.run(STEPS, event, logger, retrain_env, ended=execution_ended)
