"""Ground truth (`functions.core.feedback.submit`) on an in-memory index: only models whose
policy collects it take labels, only for their own captured requests, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core import feedback
from functions.core.errors import (
    GroundTruthDisabled,
    InvalidInput,
    LabelConflict,
    UnknownInferenceId,
)
from functions.core.feedback import CapturedInference, Feedback
from functions.core.models import ModelPolicy, NewModel
from functions.core.monitoring_policy import MonitoringPolicy
from functions.core.registry import create_model

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


class MemoryFeedback:
    def __init__(self) -> None:
        self.captured: dict[str, CapturedInference] = {}
        self.labels: dict = {}

    def inferences(self, ids):
        return {i: self.captured[i] for i in ids if i in self.captured}

    def labels_for(self, keys):
        return {k: self.labels[k] for k in keys if k in self.labels}

    def put_new_labels(self, labels):
        assert not any(label.key in self.labels for label in labels)
        self.labels.update({label.key: label for label in labels})

    def index(self, items):
        self.captured.update({item.inference_id: item for item in items})


def captured(model: str, *ids: str) -> list[CapturedInference]:
    return [CapturedInference(inference_id=i, model=model, alias="production", endpoint=f"mp-{model}", variant="v",
                              time=AT, capture_key="k", expires_at=0) for i in ids]


@pytest.fixture
def store(deps, publisher):
    for name, on in (("labelled", True), ("unlabelled", False), ("other", True)):
        create_model(deps, publisher, NewModel(name=name, owner="alice", framework="sklearn",
                                               policy=ModelPolicy(monitoring=MonitoringPolicy(ground_truth=on))))
    found = MemoryFeedback()
    found.index(captured("labelled", "a", "b") + captured("unlabelled", "u") + captured("other", "o"))
    return found


def post(deps, store, ctx, name, *pairs):
    return feedback.submit(deps, store, ctx, name, Feedback(labels=[{"inference_id": i, "label": y} for i, y in pairs]))


def test_ground_truth_is_opt_in(deps, store, publisher):
    assert MonitoringPolicy().ground_truth is False
    with pytest.raises(GroundTruthDisabled, match="monitoring.ground_truth"):
        post(deps, store, publisher, "unlabelled", ("u", 1))


def test_labels_are_stored_once_and_again_is_unchanged(deps, store, publisher):
    assert post(deps, store, publisher, "labelled", ("a", 1), ("b", 0)).model_dump() == {"accepted": 2, "unchanged": 0}
    assert post(deps, store, publisher, "labelled", ("a", 1)).model_dump() == {"accepted": 0, "unchanged": 1}
    [label] = [v for v in store.labels.values() if v.inference_id == "a"]
    assert label.time == AT and label.labeled_by == publisher.actor.id and label.alias == "production"


def test_unknown_or_foreign_ids_refuse_the_whole_batch_and_say_which(deps, store, publisher):
    with pytest.raises(UnknownInferenceId) as refused:
        post(deps, store, publisher, "labelled", ("a", 1), ("nope", 1), ("o", 0))  # `o` is another model's
    assert [f["path"] for f in refused.value.fields] == ["body.labels[1].inference_id", "body.labels[2].inference_id"]
    assert store.labels == {}


def test_a_different_label_conflicts_and_one_id_twice_is_invalid(deps, store, publisher):
    post(deps, store, publisher, "labelled", ("a", 1))
    with pytest.raises(LabelConflict):
        post(deps, store, publisher, "labelled", ("a", 0), ("b", 1))
    assert len(store.labels) == 1  # `b` was not stored either
    with pytest.raises(InvalidInput, match="labelled twice|two different labels"):
        post(deps, store, publisher, "labelled", ("b", 1), ("b", 0))
