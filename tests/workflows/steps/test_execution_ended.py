"""An execution that ends where no Catch runs never leaves its record `running`.

The history quota, the state machine's own timeout and StopExecution end an execution
without running MarkFailed. EventBridge delivers "Step Functions Execution Status Change"
events (eventbridge-integration.html) for them; the Workflows stack routes those back to the steps
Lambda, which records the failure (tests/infra/test_workflows.py checks the rules).
"""

from __future__ import annotations

import json

import pytest

from functions.core import deployments, governance, retraining
from functions.core.deployments import DeploymentStatus, workflow_context
from functions.core.retraining import RetrainStatus
from functions.workflows import deploy_steps, retrain_steps, steps
from tests.workflows.steps.test_retrain_steps import describe, model


def status_change(status: str, execution_input: dict, **detail) -> dict:
    """The event as EventBridge delivers it (the input is the execution's input, as a JSON string)."""
    return {
        "version": "0", "id": "6f3a", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
        "account": "123456789012", "region": "us-east-1", "time": "2025-01-01T00:00:00Z",
        "resources": ["arn:aws:states:us-east-1:123456789012:execution:Deploy:run-1"],
        "detail": {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Deploy:run-1",
                   "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Deploy",
                   "name": "run-1", "status": status, "startDate": 1735689600000, "stopDate": 1735776000000,
                   "input": json.dumps(execution_input), "output": None, **detail},
    }  # fmt: skip


def test_only_endings_outside_the_workflow_are_reconciled():
    assert steps.ended_execution({"step": "validate", "input": {}}) is None
    assert steps.ended_execution(status_change("SUCCEEDED", {})) is None
    assert steps.ended_execution(status_change("RUNNING", {})) is None
    for status, name in (("FAILED", "ExecutionFailed"), ("TIMED_OUT", "ExecutionTimedOut"),
                         ("ABORTED", "ExecutionAborted")):
        state = steps.ended_execution(status_change(status, {"model": "churn", "deployment_id": "d1"}))
        assert state["model"] == "churn" and state["error"]["Error"] == name
        assert status in state["error"]["Cause"] and "run-1" in state["error"]["Cause"]
    quota = steps.ended_execution(status_change("FAILED", {}, cause="The execution reached the maximum number of "
                                                            "history events (25000)."))
    assert "history events (25000)" in quota["error"]["Cause"]


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_deployment_whose_execution_died_is_recorded_failed(env, started, status):
    state = started()
    deploy_steps._mark(env, state, "wait_endpoint")
    answer = handle(deploy_steps, status_change(status, state), env)
    assert answer == {"status": "failed", "changed": True}
    record = deployments.require_deployment(env.deps, "churn", state["deployment_id"], consistent=True)
    assert record.status is DeploymentStatus.failed and record.step == "wait_endpoint"
    assert record.error.startswith("Execution") and status in record.cause
    assert any(state["endpoint"] in note for note in record.notes)
    # delivered twice (EventBridge is at-least-once): nothing changes the second time
    assert handle(deploy_steps, status_change(status, state), env)["changed"] is False


def test_a_deployment_that_had_moved_the_alias_is_recorded_succeeded(env, started):
    state = started()
    ctx = workflow_context(state["deployment_id"])
    governance.set_alias(env.deps, ctx, "churn", "staging", "1.0.0", endpoint=state["endpoint"],
                         deployment_id=state["deployment_id"])
    assert handle(deploy_steps, status_change("FAILED", state), env)["status"] == "succeeded"
    record = deployments.require_deployment(env.deps, "churn", state["deployment_id"], consistent=True)
    assert record.status is DeploymentStatus.succeeded and "the alias had already moved" in record.notes[-1]


def test_a_retrain_whose_execution_died_stops_its_job_and_is_recorded_failed(retrain_env, stubbed):
    state = model(retrain_env)
    job = retrain_steps.train(state, retrain_env)
    sm = stubbed["sagemaker"]
    sm.add_response("describe_training_job", describe("InProgress"), {"TrainingJobName": job["name"]})
    sm.add_response("stop_training_job", {}, {"TrainingJobName": job["name"]})
    answer = handle(retrain_steps, status_change("TIMED_OUT", state), retrain_env)
    assert answer == {"status": "failed", "changed": True}
    record = retraining.require_retrain(retrain_env.deps, "churn", state["retrain_id"], consistent=True)
    assert record.status is RetrainStatus.failed and record.error == "ExecutionTimedOut"
    assert f"training job {job['name']} was stopped" in record.cause


def test_a_retrain_that_died_before_its_job_existed_is_recorded_failed(retrain_env, stubbed):
    state = model(retrain_env)
    assert handle(retrain_steps, status_change("ABORTED", state), retrain_env)["status"] == "failed"
    assert retraining.require_retrain(retrain_env.deps, "churn", state["retrain_id"]).status is RetrainStatus.failed


def handle(module, event: dict, env) -> dict:
    """What the steps Lambda's handler does with `event` (`steps.run`, with this test's adapters)."""
    return steps.run(module.STEPS, event, module.logger, lambda: env, ended=module.execution_ended)


@pytest.mark.parametrize("scheduled", [False, True], ids=["requested", "scheduled"])
def test_a_drift_run_whose_execution_died_is_recorded_failed_and_its_job_stopped(stubbed, scheduled):
    """Else the run stays `running` and refuses every later run of the alias. A scheduled
    execution's input names no run: the alias's one unfinished run is it."""
    from functions.core import monitoring
    from functions.monitoring import steps as monitor_steps
    from tests.workflows.steps.test_execution_history import _monitor_env

    env, run = _monitor_env(stubbed)
    monitoring.record_step(env.deps, monitoring.workflow_context(run.id), "churn", run.id, "drift_job",
                           processing_job="mp-test-drift-1")
    stubbed["sagemaker"].add_response("stop_processing_job", {}, {"ProcessingJobName": "mp-test-drift-1"})
    execution_input = ({"model": "churn", "alias": "staging", "execution": "sched-1"} if scheduled
                       else monitoring.workflow_input(run, 30))
    answer = handle(monitor_steps, status_change("TIMED_OUT", execution_input), env)
    assert answer == {"failed": run.id, "error": "ExecutionTimedOut"}
    found = monitoring.require_run(env.deps, "churn", run.id, consistent=True)
    assert found.status.value == "failed" and "TIMED_OUT" in found.cause
    assert handle(monitor_steps, status_change("TIMED_OUT", execution_input), env)["failed"] is None
