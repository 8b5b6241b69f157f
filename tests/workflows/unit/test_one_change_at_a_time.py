"""One deployment per alias and one retrain per model at a time (issue 11): a second one is
refused at once, naming the running one, and two racing requests cannot both pass."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from functions.core import deployments, exclusive, registry, retraining
from functions.core.deployments import DeploymentStatus, NewDeployment
from functions.core.errors import DeploymentInProgress, RetrainInProgress
from functions.core.models import ModelCard, NewVersion
from functions.core.retraining import Dataset, NewDataset, RetrainOutcome, RetrainStatus
from tests.workflows.unit.test_deployments_core import RULES, Starter

CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")
DEPLOYER = deployments.workflow_context("steps")
TRAINER = retraining.workflow_context("steps")


@pytest.fixture
def versions(deps, publisher, churn):
    for v in ("1.0.0", "1.1.0"):
        registry.publish_version(deps, publisher, "churn", NewVersion(version=v, sha256="ab" * 32, size=3, card=CARD))
    return deps


def deploy(deps, ctx, version="1.0.0", alias="staging", starter=None):
    deps.clock.advance(seconds=1)  # deployment ids carry the time
    return deployments.start_deployment(deps, ctx, RULES, starter or Starter(), "churn",
                                        NewDeployment(version=version, alias=alias))


def test_a_second_deployment_to_the_same_alias_is_refused_at_once_naming_the_first(versions, publisher):
    starter = Starter()
    first = deploy(versions, publisher, starter=starter)
    events = len(versions.store.events_of("churn"))
    with pytest.raises(DeploymentInProgress, match=f"deployment {first.id} of churn 1.0.0 to alias staging is pending"):
        deploy(versions, publisher, "1.1.0", starter=starter)
    # nothing of the second was written or started
    assert [d.id for d in deployments.list_deployments(versions, publisher, "churn").items] == [first.id]
    assert len(versions.store.events_of("churn")) == events
    assert [name for name, _ in starter.started] == [first.id]


def test_other_aliases_do_not_wait(versions, publisher):
    deploy(versions, publisher, alias="staging")
    assert deploy(versions, publisher, alias="canary").alias == "canary"


@pytest.mark.parametrize("outcome", ["succeed", "fail"])
def test_the_alias_is_free_again_once_the_deployment_finished(versions, publisher, outcome):
    first = deploy(versions, publisher)
    deployments.record_step(versions, DEPLOYER, "churn", first.id, "create_model")
    with pytest.raises(DeploymentInProgress, match="is running \\(step create_model\\)"):
        deploy(versions, publisher)
    if outcome == "succeed":
        deployments.succeed(versions, DEPLOYER, "churn", first.id)
    else:
        deployments.fail(versions, DEPLOYER, "churn", first.id, error="EndpointFailed", cause="x")
    assert versions.store.get(exclusive.ActiveChange.key_for("churn", "deploy:staging"), exclusive.ActiveChange) is None
    assert deploy(versions, publisher, "1.1.0").status == DeploymentStatus.pending


def test_a_deployment_whose_workflow_did_not_start_frees_the_alias(versions, publisher):
    with pytest.raises(RuntimeError):
        deploy(versions, publisher, starter=Starter(fail=RuntimeError("no state machine")))
    assert deploy(versions, publisher).status == DeploymentStatus.pending


def test_two_racing_deployments_to_one_alias_cannot_both_start(versions, publisher):
    """Both read the (free) alias before either commits; the one that commits second finds
    its transaction's conditions failed, re-reads, and is refused naming the first."""
    barrier = threading.Barrier(2)
    real_get = versions.store.get
    waited = threading.local()

    def get(key, cls, **kwargs):
        found = real_get(key, cls, **kwargs)
        if cls is exclusive.ActiveChange and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=5)
        return found

    versions.store.get = get
    ids = iter(["a" * 16, "b" * 16, "c" * 16, "d" * 16])
    versions = dataclasses.replace(versions, new_id=lambda: next(ids))  # distinct deployment ids
    starter = Starter()
    results: list[object] = []

    def run(version: str) -> None:
        try:
            results.append(deployments.start_deployment(
                versions, publisher, RULES, starter, "churn", NewDeployment(version=version, alias="staging")))
        except DeploymentInProgress as refused:
            results.append(refused)

    threads = [threading.Thread(target=run, args=(v,)) for v in ("1.0.0", "1.1.0")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    started = [r for r in results if isinstance(r, deployments.Deployment)]
    refused = [r for r in results if isinstance(r, DeploymentInProgress)]
    assert len(started) == 1 and len(refused) == 1, results
    assert started[0].id in refused[0].message
    assert [name for name, _ in starter.started] == [started[0].id]


DATASET = Dataset(bucket="datasets", key="datasets/churn/d1/data.csv", version_id="v1", sha256="cd" * 32, size=10)


def test_a_second_retrain_of_one_model_is_refused_naming_the_running_one(versions, publisher):
    first, created = retraining.open_retrain(versions, TRAINER, "churn", DATASET, "20250101-000000-aaaaaaaaaaaaaaaa")
    assert created and first.status == RetrainStatus.pending
    # asking for another dataset upload is refused at once
    with pytest.raises(RetrainInProgress, match=f"retrain {first.id} of churn is pending"):
        retraining.request_dataset_upload(versions, publisher, "churn", NewDataset(sha256="ef" * 32, size=5),
                                          bucket="datasets")
    # a dataset that arrives anyway (an upload URL from before, or a direct S3 put) is recorded
    # as refused, finished at once, naming the running retrain
    other = DATASET.model_copy(update={"key": "datasets/churn/d2/data.csv"})
    second, created = retraining.open_retrain(versions, TRAINER, "churn", other, "20250101-000001-bbbbbbbbbbbbbbbb")
    assert created and (second.status, second.outcome, second.error) == (
        RetrainStatus.failed, RetrainOutcome.failed, "RetrainInProgress")
    assert first.id in second.cause
    assert versions.store.events_of("churn")[-1].action == "retrain.refused"
    # the same notification again finds the refusal, not a new retrain
    again, created = retraining.open_retrain(versions, TRAINER, "churn", other, "20250101-000001-bbbbbbbbbbbbbbbb")
    assert not created and again.status == RetrainStatus.failed
    # once the first finishes, the next one runs
    retraining.finish(versions, TRAINER, "churn", first.id, RetrainOutcome.rejected_by_evaluation)
    third, created = retraining.open_retrain(versions, TRAINER, "churn", DATASET.model_copy(
        update={"key": "datasets/churn/d3/data.csv"}), "20250101-000002-cccccccccccccccc")
    assert created and third.status == RetrainStatus.pending
