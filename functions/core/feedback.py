"""Use cases: ground truth for captured requests (`POST /v1/models/{name}/feedback`).

Every inference answer names its inference id (SageMaker's `InferenceId`, the gateway's
request id). Where the model's policy collects ground truth (`monitoring.ground_truth`;
409 `GroundTruthDisabled` otherwise), the capture indexer records each captured id (`INFER#<id>`: model, alias,
endpoint, inference time), so labels can be checked when they arrive: an id that is not a
captured request of *this* model is refused (400 naming it; never captured, sampled out,
captured less than a few minutes ago, or another model's, and the answer does not say
which). Labels are stored per model in inference-time order (`LABELS#<model>`,
`<time>#<id>`), which is how the drift job reads a window's labels. A batch is
idempotent: the same label again is `unchanged`; a different label for a labelled id is a
409 and nothing of the batch is written. Labels are data, not governance: they carry who
posted them but are not audit events (a busy application posts millions).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from functions.core import access
from functions.core.errors import (
    GroundTruthDisabled,
    InvalidInput,
    LabelConflict,
    UnknownInferenceId,
)
from functions.core.ports import Context, Deps
from functions.core.records import ItemKey, Record
from functions.core.registry import require_model

INFERENCE_PREFIX = "INFER#"
LABELS_PREFIX = "LABELS#"
MAX_LABELS = 100
#: SageMaker's InferenceId: 1-64 printable characters, not starting with a space.
INFERENCE_ID_RE = r"^\S[\x20-\x7e]{0,63}$"
#: anyone who may call the model may tell it what the right answer was.
LABEL = access.ANY_ROLE

Scalar = str | int | float | bool
LabelValue = Scalar | list[Scalar | None]


class CapturedInference(Record):
    """One captured request, as the capture indexer found it."""

    KIND: ClassVar[str] = "inference"

    inference_id: str
    model: str
    alias: str
    endpoint: str
    variant: str
    time: datetime
    #: the capture object holding it.
    capture_key: str
    #: epoch seconds after which DynamoDB's TTL removes it (labels are no longer accepted).
    expires_at: int

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.inference_id)

    @staticmethod
    def key_for(inference_id: str) -> ItemKey:
        return ItemKey(f"{INFERENCE_PREFIX}{inference_id}", "META")


class Label(Record):
    KIND: ClassVar[str] = "label"

    model: str
    alias: str
    inference_id: str
    #: the inference time (labels are read by window of inference time).
    time: datetime
    label: LabelValue
    labeled_at: datetime
    labeled_by: str

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.time, self.inference_id)

    @staticmethod
    def key_for(model: str, time: datetime, inference_id: str) -> ItemKey:
        return ItemKey(f"{LABELS_PREFIX}{model}", f"{time:%Y-%m-%dT%H:%M:%S}Z#{inference_id}")


class NewLabel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inference_id: str = Field(pattern=INFERENCE_ID_RE, description="the X-Modelport-Inference-Id of the answer")
    label: LabelValue = Field(description="the true target; for a request of several rows, one per row")


class Feedback(BaseModel):
    """Command: labels for captured inference ids (at most 100 per request)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[NewLabel] = Field(min_length=1, max_length=MAX_LABELS)


class FeedbackResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    accepted: int
    unchanged: int


class FeedbackStore(Protocol):
    """Captured-inference index and labels (the metadata table, outside the audit chains)."""

    def inferences(self, ids: list[str]) -> dict[str, CapturedInference]:
        """The index items of these ids (BatchGetItem); absent ids are left out."""

    def labels_for(self, keys: list[ItemKey]) -> dict[ItemKey, Label]:
        """The labels stored under these keys."""

    def put_new_labels(self, labels: list[Label]) -> None:
        """Write labels that must not exist yet, all or none (raises LabelConflict if one does)."""

    def index(self, items: list[CapturedInference]) -> None:
        """Record captured inferences (idempotent)."""

    def labels_between(self, model: str, start: datetime, end: datetime) -> Iterator[Label]:
        """A model's labels for inferences in [start, end), oldest first (at whole seconds: the
        window's last, partial second is in it)."""


def submit(deps: Deps, store: FeedbackStore, ctx: Context, name: str, feedback: Feedback) -> FeedbackResult:
    """Store labels for captured requests of `name` (see the module docstring)."""
    access.require(ctx.actor, LABEL, name, doing="posting labels")
    model = require_model(deps, name)
    if not model.policy.monitoring.ground_truth:
        raise GroundTruthDisabled(
            f"the policy of {name} does not collect ground truth (monitoring.ground_truth is false), so its "
            "captured requests are not indexed and labels cannot be checked; set it to true (requests captured "
            "from then on take labels)"
        )
    wanted: dict[str, NewLabel] = {}
    for i, item in enumerate(feedback.labels):
        seen = wanted.get(item.inference_id)
        if seen is not None and seen.label != item.label:
            raise InvalidInput("one inference id has two different labels in this request",
                               [{"path": f"body.labels[{i}].label", "message": f"{item.inference_id} is labelled twice"}])
        wanted[item.inference_id] = item
    found = store.inferences(list(wanted))
    unknown = [i for i, item in enumerate(feedback.labels)
               if item.inference_id not in found or found[item.inference_id].model != name]
    if unknown:
        fields = [{"path": f"body.labels[{i}].inference_id",
                   "message": f"{feedback.labels[i].inference_id!r} is not a captured request of {name}"}
                  for i in unknown[:20]]
        raise UnknownInferenceId(
            f"{len(unknown)} of the inference ids are not captured requests of {name} (requests outside the "
            "capture sampling are not captured, and captures take a few minutes to arrive); nothing was stored",
            fields,
        )
    now = deps.clock()
    labels = [Label(model=name, alias=found[i].alias, inference_id=i, time=found[i].time, label=item.label,
                    labeled_at=now, labeled_by=ctx.actor.id) for i, item in wanted.items()]
    existing = store.labels_for([label.key for label in labels])
    conflicting = [label.inference_id for label in labels
                   if label.key in existing and existing[label.key].label != label.label]
    if conflicting:
        raise LabelConflict(f"these requests already have a different label, so nothing was stored: "
                            f"{', '.join(conflicting[:10])}")
    new = [label for label in labels if label.key not in existing]
    if new:
        store.put_new_labels(new)
    return FeedbackResult(accepted=len(new), unchanged=len(labels) - len(new))


def label_rows(labels: Iterator[Label]) -> Iterator[dict[str, Any]]:
    """Labels as the drift job reads them (`{"inference_id", "label"}` per line)."""
    for label in labels:
        yield {"inference_id": label.inference_id, "label": label.label}
