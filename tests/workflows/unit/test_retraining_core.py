"""Retraining in the core: ids from the object, evaluation rules, registration with lineage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core import governance, registry, retraining
from functions.core.errors import Forbidden, MetricsMissing, ModelNotFound
from functions.core.models import (
    ModelCard,
    ModelPolicy,
    NewModel,
    NewVersion,
    Signature,
    TrainingSpec,
)
from functions.core.retraining import (
    Dataset,
    NewDataset,
    RetrainOutcome,
    RetrainStatus,
    workflow_context,
)
from functions.core.semver import VersionSpec
from tests.unit.conftest import ctx_for

CARD = ModelCard(intended_use="churn", limitations="EU only", evaluation="auc .9", training_data="crm 2024")
DATASET = Dataset(bucket="datasets", key="datasets/churn/d1/data.csv", version_id="v1", sha256="cd" * 32, size=10)
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def version(deps, ctx, v, **metrics):
    return registry.publish_version(deps, ctx, "churn", NewVersion(version=v, sha256="ab" * 32, size=3, card=CARD,
                                                                   metrics=metrics)).version


def test_the_retrain_id_derives_from_the_object():
    rid = retraining.retrain_id(DATASET, WHEN, "v1")
    assert rid == retraining.retrain_id(DATASET, WHEN, "v1")
    assert rid.startswith("20250304-050607-") and len(rid) == 32
    assert rid != retraining.retrain_id(DATASET, WHEN, "v2")
    assert rid != retraining.retrain_id(DATASET.model_copy(update={"key": "datasets/churn/d2/data.csv"}), WHEN, "v1")


@pytest.mark.parametrize(
    ("key", "model"),
    [("datasets/churn/2025/a.csv", "churn"), ("datasets/churn/a.csv", "churn"), ("datasets/churn/", None),
     ("datasets/Churn/a.csv", None), ("other/churn/a.csv", None), ("datasets/a.csv", None)],
)
def test_dataset_keys(key, model):
    assert retraining.model_for_key(key) == model


@pytest.mark.parametrize(
    ("policy", "candidate", "baseline", "accepted"),
    [
        (ModelPolicy(metric="accuracy"), 0.91, 0.90, True),
        (ModelPolicy(metric="accuracy"), 0.90, 0.90, False),
        (ModelPolicy(metric="accuracy", min_improvement=0.02), 0.91, 0.90, False),
        (ModelPolicy(metric="accuracy", min_improvement=0.02), 0.93, 0.90, True),
        (ModelPolicy(metric="rmse", metric_direction="minimize"), 1.5, 2.0, True),
        (ModelPolicy(metric="rmse", metric_direction="minimize"), 2.5, 2.0, False),
    ],
)
def test_evaluation_against_production(deps, publisher, churn, policy, candidate, baseline, accepted):
    prod = version(deps, publisher, "1.0.0", **{policy.metric: baseline})
    result = retraining.evaluate(policy, {policy.metric: candidate}, prod)
    assert result.accepted is accepted
    assert (result.baseline, result.baseline_version, result.candidate) == (baseline, "1.0.0", candidate)
    assert ("improves on" in result.reason) is accepted


def test_evaluation_without_production_accepts_and_without_the_metric_fails(deps, publisher, churn):
    assert retraining.evaluate(ModelPolicy(), {"accuracy": 0.1}, None).accepted
    other = version(deps, publisher, "1.0.0", f1=0.5)
    lacking = retraining.evaluate(ModelPolicy(), {"accuracy": 0.1}, other)
    assert lacking.accepted and "has no 'accuracy'" in lacking.reason
    with pytest.raises(MetricsMissing, match="reports no 'accuracy'.*r2"):
        retraining.evaluate(ModelPolicy(), {"r2": 0.3}, None)


def test_opening_a_retrain_twice_writes_once(deps, churn):
    rid = retraining.retrain_id(DATASET, WHEN, "v1")
    first, created = retraining.open_retrain(deps, workflow_context(rid), "churn", DATASET, rid)
    again, created_again = retraining.open_retrain(deps, workflow_context(rid), "churn", DATASET, rid)
    assert (created, created_again) == (True, False) and first == again
    assert [e.action for e in deps.store.events_of("churn")].count("retrain.start") == 1
    with pytest.raises(ModelNotFound):
        retraining.open_retrain(deps, workflow_context(rid), "fraud", DATASET, rid)


def test_registration_bumps_the_patch_with_lineage_and_a_derived_card(deps, publisher, churn):
    version(deps, publisher, "1.2.0", accuracy=0.8)
    governance.set_alias(deps, ctx_for("admin"), "churn", "staging", "1.2.0")
    version(deps, publisher, "1.3.0", accuracy=0.8)
    rid = retraining.retrain_id(DATASET, WHEN, "v1")
    ctx = workflow_context(rid)
    retraining.open_retrain(deps, ctx, "churn", DATASET, rid)
    baseline = registry.find_version(deps, "churn", VersionSpec.parse("1.2.0"))
    evaluation = retraining.evaluate(ModelPolicy(), {"accuracy": 0.9}, baseline)
    retrain = retraining.record_step(deps, ctx, "churn", rid, "evaluate", training_job="mp-test-churn-abc",
                                     evaluation=evaluation)
    new = retraining.register_candidate(deps, ctx, retrain, sha256="ef" * 32, size=99, framework="sklearn",
                                        signature=Signature(), metrics={"accuracy": 0.9}, code_revision="abc123")
    assert new.version == "1.3.1"
    assert new.lineage.model_dump() == {
        "dataset_uri": "s3://datasets/datasets/churn/d1/data.csv", "dataset_sha256": "cd" * 32,
        "code_revision": "abc123", "parent_version": "1.2.0", "training_job": "mp-test-churn-abc",
        "baseline_sha256": None, "dataset_uploaded_by": None, "retrain_started_by": None,
    }
    assert new.card.intended_use == "churn" and new.card.training_data == DATASET.uri
    assert "improves on production 1.2.0" in new.card.evaluation
    assert new.artifact.uri == "s3://artifacts/models/churn/1.3.1/model.tar.gz"
    assert new.created_by == "system:retrain"
    # a retried step finds the version it registered instead of publishing 1.3.2
    assert retraining.register_candidate(deps, ctx, retrain, sha256="ef" * 32, size=99, framework=None,
                                         signature=Signature(), metrics={}).version == "1.3.1"
    assert ("Version Registered", {"model": "churn", "version": "1.3.1", "by": "system:retrain",
                                   "artifact": new.artifact.uri}) in deps.events.sent


def test_finishing_announces_once_and_failure_keeps_the_step(deps, churn):
    rid = retraining.retrain_id(DATASET, WHEN, "v1")
    ctx = workflow_context(rid)
    retraining.open_retrain(deps, ctx, "churn", DATASET, rid)
    retraining.record_step(deps, ctx, "churn", rid, "wait_training", training_job="job-1")
    failed = retraining.finish(deps, ctx, "churn", rid, RetrainOutcome.failed, error="TrainingFailed", cause="OOM")
    again = retraining.finish(deps, ctx, "churn", rid, RetrainOutcome.registered)
    assert (failed.status, failed.step, failed.outcome, again.outcome) == (
        RetrainStatus.failed, "wait_training", RetrainOutcome.failed, RetrainOutcome.failed)
    finished = [d for t, d in deps.events.sent if t == "Retrain Finished"]
    assert len(finished) == 1 and finished[0]["outcome"] == "failed" and finished[0]["cause"] == "OOM"
    assert finished[0]["training_job"] == "job-1" and finished[0]["dataset"] == DATASET.uri


def test_dataset_uploads_land_under_the_models_prefix(deps, publisher, churn):
    up = retraining.request_dataset_upload(deps, publisher, "churn", NewDataset(sha256="cd" * 32, size=5), bucket="ds")
    assert up.uri.startswith("s3://ds/datasets/churn/20250101-000000-") and up.uri.endswith("/data.csv")
    assert up.upload.headers["x-amz-checksum-sha256"] == "cd" * 32
    assert deps.store.events_of("churn")[-1].action == "dataset.upload"
    registry.create_model(deps, publisher, NewModel(
        name="churn-eu", owner="a", framework="sklearn",
        training=TrainingSpec(dataset_prefix="datasets/churn-eu/monthly")))
    up = retraining.request_dataset_upload(deps, publisher, "churn-eu", NewDataset(sha256="cd" * 32, size=5,
                                                                                   filename="m.parquet"), bucket="ds")
    assert up.uri.startswith("s3://ds/datasets/churn-eu/monthly/") and up.uri.endswith("/m.parquet")
    with pytest.raises(Forbidden):
        retraining.request_dataset_upload(deps, ctx_for("consumer"), "churn", NewDataset(sha256="cd" * 32, size=5),
                                          bucket="ds")
