"""Use cases: retraining (`RETRAIN#<id>` under `MODEL#<name>`) and dataset uploads.

A new object under `datasets/<model>/` opens a retrain (idempotent: the id derives from
the object, so a redelivered notification finds the same record and the same execution
name). The retrain workflow trains, evaluates the candidate against the `production`
version on the model's policy metric, and either finishes `rejected_by_evaluation` or
registers a new version (a patch bump) with full lineage and then, by policy, stops,
submits it for approval or deploys it to `staging`. The steps act as `system_actor("retrain")`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from functions.core import access, exclusive
from functions.core.dataset_uploads import DatasetUploadRecord, uploader_of
from functions.core.errors import (
    Conflict,
    ModelNotFound,
    ModelRetired,
    RetrainInProgress,
    RetrainNotFound,
)
from functions.core.evaluation import Evaluation, evaluate, production_version  # noqa: F401 - re-exported
from functions.core.lifecycle import require_active
from functions.core.models import (
    MODEL_NAME_RE,
    SHA256_RE,
    Contributor,
    Framework,
    Lineage,
    Model,
    ModelCard,
    ModelVersion,
    NewVersion,
    Signature,
    system_actor,
)
from functions.core.mutations import Put, change, commit, update_model_record, with_retry
from functions.core.ports import Context, Deps, Upload
from functions.core.records import ItemKey, Page, Record, StepMark, model_pk
from functions.core.registry import find_version, publish_version, require_model
from functions.core.semver import Bump, SemVer, VersionSpec

RETRAIN_PREFIX = "RETRAIN#"
RETRAIN_ID_RE = r"^\d{8}-\d{6}-[0-9a-f]{16}$"
DATASETS_ROOT = "datasets/"
#: step names as users see them (`GET .../retrains/{id}`).
STEPS = ("queued", "train", "wait_training", "evaluate", "register", "finish", "done")


def workflow_context(request_id: str) -> Context:
    return Context(actor=system_actor("retrain"), request_id=request_id)


class RetrainStatus(StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


FINISHED = frozenset({RetrainStatus.succeeded, RetrainStatus.failed})


class RetrainOutcome(StrEnum):
    rejected_by_evaluation = "rejected_by_evaluation"
    #: registered; the policy stops here (or the version could not be submitted: see `note`).
    registered = "registered"
    submitted = "submitted"
    deploying = "deploying"
    failed = "failed"


class Dataset(BaseModel):
    """The object that triggered a retrain."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    version_id: str | None = None
    sha256: str | None = Field(default=None, pattern=SHA256_RE)
    size: int = 0

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class Retrain(Record):
    KIND: ClassVar[str] = "retrain"

    id: str
    model: str
    dataset: Dataset
    status: RetrainStatus = RetrainStatus.pending
    step: str = "queued"
    steps: list[StepMark] = Field(default_factory=list)
    outcome: RetrainOutcome | None = None
    training_job: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    evaluation: Evaluation | None = None
    new_version: str | None = None
    deployment_id: str | None = None
    error: str | None = None
    cause: str | None = None
    note: str | None = None
    #: who asked for the dataset's upload URL (None: the object reached the bucket otherwise)
    uploaded_by: Contributor | None = None
    #: who started this retrain (an upload starts it: its uploader)
    started_by: Contributor | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.id)

    @staticmethod
    def key_for(model: str, retrain_id: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{RETRAIN_PREFIX}{retrain_id}")


def retrain_id(dataset: Dataset, object_time: datetime, revision: str) -> str:
    """Derived from the object alone (bucket, key, version), time-ordered for listing.

    `revision` is the object's version id (or, unversioned, the event's sequencer), and
    `object_time` its LastModified: both are the same for every redelivery of one upload.
    """
    digest = hashlib.sha256(f"{dataset.bucket}/{dataset.key}#{revision}".encode()).hexdigest()[:16]
    return f"{object_time:%Y%m%d-%H%M%S}-{digest}"


def model_for_key(key: str) -> str | None:
    """`datasets/<model>/<file...>` → model name, else None (outside the layout)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != DATASETS_ROOT or not parts[-1]:
        return None
    return parts[1] if re.match(MODEL_NAME_RE, parts[1]) else None


def dataset_prefix(model: Model) -> str:
    """Where a model's datasets go: its training spec's prefix when it lies under
    `datasets/<model>/`, else `datasets/<model>/`."""
    own = f"{DATASETS_ROOT}{model.name}/"
    chosen = model.training.dataset_prefix
    if chosen and chosen.startswith(own):
        return chosen if chosen.endswith("/") else chosen + "/"
    return own


# --- the dataset upload ---------------------------------------------------------------------


class NewDataset(BaseModel):
    """Command: ask for an upload URL for a training dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern=SHA256_RE, description="hex SHA-256 of the file (S3 refuses other bytes)")
    size: int = Field(gt=0, le=5 * 1024**3, description="bytes (one PUT: at most 5 GiB)")
    filename: str = Field(default="data.csv", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class DatasetUpload(BaseModel):
    uri: str
    upload: Upload


def request_dataset_upload(deps: Deps, ctx: Context, name: str, new: NewDataset, *, bucket: str) -> DatasetUpload:
    """A presigned PUT (bound to the SHA-256) into the model's dataset prefix, audited.

    The upload itself starts the retrain (S3 → SQS → trigger).
    """
    access.require(ctx.actor, access.PUBLISH, name, doing="uploading a dataset")

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        # the upload would start a second retrain: say so now, not after the upload
        running = _running_retrain(deps, name)
        if running is not None:
            raise _in_progress(running)
        key = f"{dataset_prefix(model)}{deps.clock():%Y%m%d-%H%M%S}-{deps.new_id()[:6]}/{new.filename}"
        uri = f"s3://{bucket}/{key}"
        # who asked: the retrain this upload starts, and its version, name them (four eyes)
        record = DatasetUploadRecord(model=name, object_key=key, sha256=new.sha256, size=new.size,
                                     by=ctx.actor.contributor(), at=deps.clock())
        uow = change(deps, ctx, head, action="dataset.upload", target=name,
                     details={"uri": uri, "sha256": new.sha256, "size": new.size},
                     writes=[Put(record, if_absent=Conflict(f"an upload to {uri} exists; retry"))])
        return uow, uri

    uri = commit(deps, build)
    return DatasetUpload(uri=uri, upload=deps.artifacts.upload_url(uri, new.sha256, new.size))


# --- the retrain record ---------------------------------------------------------------------


def open_retrain(deps: Deps, ctx: Context, name: str, dataset: Dataset, retrain_id_: str) -> tuple[Retrain, bool]:
    """The retrain for this object: created (audited) unless it exists; (record, created)."""

    def attempt() -> tuple[Retrain, bool]:
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        existing = deps.store.get(Retrain.key_for(name, retrain_id_), Retrain, consistent=True)
        if existing is not None:
            return existing, False
        now = deps.clock()
        uploader = uploader_of(deps, name, dataset.key, dataset.sha256)
        retrain = Retrain(id=retrain_id_, model=name, dataset=dataset, created_at=now, updated_at=now,
                          steps=[StepMark(step="queued", at=now)], uploaded_by=uploader, started_by=uploader)
        try:
            require_active(model)
            one_at_a_time = exclusive.claim(
                deps, name, exclusive.RETRAIN_SCOPE, retrain_id_,
                running=lambda other: _unfinished(deps, name, other), refused=_in_progress,
                raced=RetrainInProgress(f"another retrain of {name} started at the same moment; retry"),
            )
        except (RetrainInProgress, ModelRetired) as refused:
            # Nobody waits for this answer (an S3 notification brought the dataset): the
            # refusal is recorded, finished, so the trigger starts nothing and it is visible.
            retrain = retrain.model_copy(update={
                "status": RetrainStatus.failed, "outcome": RetrainOutcome.failed, "finished_at": now,
                "error": refused.code, "cause": refused.message,
            })  # fmt: skip
            uow = change(deps, ctx, head, action="retrain.refused", target=f"{name}/retrains/{retrain_id_}",
                         details={"dataset": dataset.model_dump(mode="json"), "cause": refused.message},
                         writes=[Put(retrain, if_absent=Conflict("retrain exists"))])
        else:
            uow = change(deps, ctx, head, action="retrain.start", target=f"{name}/retrains/{retrain_id_}",
                         details={"dataset": dataset.model_dump(mode="json")},
                         writes=[Put(retrain, if_absent=Conflict("retrain exists")), one_at_a_time])
        try:
            deps.store.commit(uow)
        except Conflict:
            found = deps.store.get(Retrain.key_for(name, retrain_id_), Retrain, consistent=True)
            if found is None:
                raise
            return found, False
        return retrain, True

    return with_retry(deps, attempt)


def _unfinished(deps: Deps, name: str, retrain_id_: str) -> Retrain | None:
    found = deps.store.get(Retrain.key_for(name, retrain_id_), Retrain, consistent=True)
    return found if found is not None and found.status not in FINISHED else None


def _running_retrain(deps: Deps, name: str) -> Retrain | None:
    holder = exclusive.holder_of(deps, name, exclusive.RETRAIN_SCOPE)
    return _unfinished(deps, name, holder) if holder else None


def _in_progress(running: Retrain) -> RetrainInProgress:
    return RetrainInProgress(
        f"retrain {running.id} of {running.model} is {running.status.value} (step {running.step}, "
        f"dataset {running.dataset.uri}); one retrain per model runs at a time, so upload the next "
        "dataset when that one has finished"
    )


Mutation = Callable[[Retrain], Retrain | None]


def update(deps: Deps, ctx: Context, name: str, retrain_id_: str, action: str, mutate: Mutation,
           details: dict[str, Any] | None = None) -> tuple[Retrain, bool]:
    """Apply `mutate` to the record (None: nothing to change) and commit it, audited."""

    def apply(current: Retrain) -> tuple[Retrain | None, dict[str, Any]]:
        updated = mutate(current)
        if updated is None:
            return None, {}
        return updated.model_copy(update={"updated_at": deps.clock()}), {"step": updated.step, **(details or {})}

    def release(current: Retrain, updated: Retrain) -> list:
        if updated.status not in FINISHED:
            return []
        return exclusive.release(deps, name, exclusive.RETRAIN_SCOPE, retrain_id_)

    return update_model_record(
        deps, ctx, name, Retrain.key_for(name, retrain_id_), Retrain, action=action,
        target=f"{name}/retrains/{retrain_id_}", mutate=apply,
        missing=lambda: RetrainNotFound(f"model {name!r} has no retrain {retrain_id_!r}"),
        also=release,
    )


def record_step(deps: Deps, ctx: Context, name: str, retrain_id_: str, step: str, **fields: Any) -> Retrain:
    """Mark the retrain running at `step`, with extra fields (e.g. `training_job`)."""

    def mutate(current: Retrain) -> Retrain | None:
        if current.status in (RetrainStatus.succeeded, RetrainStatus.failed):
            return None
        same = current.step == step and all(getattr(current, k) == v for k, v in fields.items())
        if same and current.status == RetrainStatus.running:
            return None
        steps = current.steps if current.step == step else [*current.steps, StepMark(step=step, at=deps.clock())]
        return current.model_copy(update={"status": RetrainStatus.running, "step": step, "steps": steps, **fields})

    return update(deps, ctx, name, retrain_id_, "retrain.step", mutate,
                  {k: v for k, v in fields.items() if isinstance(v, (str, int, float))})[0]


def finish(deps: Deps, ctx: Context, name: str, retrain_id_: str, outcome: RetrainOutcome, **fields: Any) -> Retrain:
    """Record the outcome (audited) and publish `Retrain Finished` once."""
    failed = outcome is RetrainOutcome.failed

    def mutate(current: Retrain) -> Retrain | None:
        if current.status in (RetrainStatus.succeeded, RetrainStatus.failed):
            return None
        now = deps.clock()
        return current.model_copy(update={
            "status": RetrainStatus.failed if failed else RetrainStatus.succeeded,
            "step": current.step if failed else "done", "outcome": outcome, "finished_at": now,
            "steps": current.steps if failed else [*current.steps, StepMark(step="done", at=now)], **fields,
        })  # fmt: skip

    retrain, changed = update(deps, ctx, name, retrain_id_, f"retrain.{outcome.value}", mutate,
                              {"outcome": outcome.value, **{k: v for k, v in fields.items() if isinstance(v, str)}})
    if changed:
        deps.events.publish("Retrain Finished", finished_detail(retrain))
    return retrain


def finished_detail(r: Retrain) -> dict[str, Any]:
    e = r.evaluation
    return {
        "retrain_id": r.id, "model": r.model, "outcome": r.outcome.value if r.outcome else None,
        "dataset": r.dataset.uri, "training_job": r.training_job, "version": r.new_version,
        "deployment_id": r.deployment_id, "metric": e.metric if e else None,
        "candidate": e.candidate if e else None, "baseline": e.baseline if e else None,
        "baseline_version": e.baseline_version if e else None,
        "error": r.error, "cause": r.cause, "note": r.note,
    }  # fmt: skip


# --- evaluation and registration ------------------------------------------------------------


def register_candidate(
    deps: Deps,
    ctx: Context,
    retrain: Retrain,
    *,
    sha256: str,
    size: int,
    framework: Framework | None,
    signature: Signature,
    metrics: dict[str, float],
    code_revision: str | None = None,
    baseline_sha256: str | None = None,
) -> ModelVersion:
    """Publish the candidate as a patch bump with full lineage (artifact at its `models/` path).

    A retried step finds the version it published before (same training job) and returns it.
    """
    name = retrain.model
    latest = _latest(deps, name)
    if latest is not None and retrain.training_job and latest.lineage.training_job == retrain.training_job:
        return latest
    parent_version = retrain.evaluation.baseline_version if retrain.evaluation else None
    parent = None
    if parent_version is not None:
        parent = find_version(deps, name, VersionSpec.parse(parent_version), consistent=True)
    elif latest is not None:
        parent = latest
    evaluation = retrain.evaluation.reason if retrain.evaluation else None
    card = (parent.card if parent else ModelCard()).model_copy(update={
        "evaluation": f"Retrained automatically ({retrain.id}): {evaluation}" if evaluation else None,
        "training_data": retrain.dataset.uri,
    })  # fmt: skip
    new = NewVersion(
        bump=Bump.patch, sha256=sha256, size=size, framework=framework, signature=signature, metrics=metrics,
        lineage=Lineage(dataset_uri=retrain.dataset.uri, dataset_sha256=retrain.dataset.sha256,
                        code_revision=code_revision, parent_version=parent.version if parent else None,
                        training_job=retrain.training_job, baseline_sha256=baseline_sha256,
                        dataset_uploaded_by=retrain.uploaded_by, retrain_started_by=retrain.started_by),
        card=card,
    )
    return publish_version(deps, ctx, name, new).version


def _latest(deps: Deps, name: str) -> ModelVersion | None:
    model = deps.store.get(Model.key_for(name), Model, consistent=True)
    if model is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    if model.latest_version is None:
        return None
    return deps.store.get(ModelVersion.key_for(name, SemVer.parse(model.latest_version)), ModelVersion,
                          consistent=True)


# --- reads ----------------------------------------------------------------------------------


def get_retrain(deps: Deps, ctx: Context, name: str, retrain_id_: str) -> Retrain:
    access.require(ctx.actor, access.READ, name)
    return require_retrain(deps, name, retrain_id_)


def require_retrain(deps: Deps, name: str, retrain_id_: str, *, consistent: bool = False) -> Retrain:
    found = deps.store.get(Retrain.key_for(name, retrain_id_), Retrain, consistent=consistent)
    if found is None:
        require_model(deps, name)
        raise RetrainNotFound(f"model {name!r} has no retrain {retrain_id_!r}")
    return found


def list_retrains(deps: Deps, ctx: Context, name: str, *, limit: int = 50, cursor: str | None = None) -> Page[Retrain]:
    """Newest first, one Query per page."""
    access.require(ctx.actor, access.READ, name)
    page = deps.store.query(model_pk(name), Retrain, prefix=RETRAIN_PREFIX, limit=limit, newest_first=True,
                            cursor=cursor)
    if not page.items and cursor is None:
        require_model(deps, name)
    return page
