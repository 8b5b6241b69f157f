"""Execution history: the longest run each workflow allows stays under Step Functions' quota.

A Standard execution's history holds at most 25,000 events (service-quotas.html); past it
the execution fails without running any Catch, and its record would stay `running`. The
wait loops are the only part that grows with time, so each loop is run here for the
longest it may last, with the real poll step (SageMaker stubbed, a simulated clock that
the loop's Wait states advance), and every state the ASL enters is counted with the
events Step Functions writes for it (API_HistoryEvent.html).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from functions.core import deployments, registry
from functions.core.deployments import NewDeployment, workflow_input
from functions.core.endpoints import EndpointSettings, TrafficStrategy
from functions.core.models import NewModel, NewVersion
from functions.workflows import deploy_steps, retrain_steps
from functions.workflows.deploy_plan import build_plan
from functions.workflows.deploy_steps import DeployEnv
from functions.workflows.settings import RetrainStepsSettings
from tests.unit.fakes import make_deps
from tests.workflows.steps.conftest import ALICE, CARD, CPU, SHARED_ROLE, Starter
from tests.workflows.steps.test_deploy_steps import endpoint
from tests.workflows.steps.test_retrain_steps import describe, model

HISTORY_QUOTA = 25_000
ASL = Path(deploy_steps.__file__).parent
#: events Step Functions writes per visit of a state (Task: Entered, Scheduled, Started,
#: Succeeded, Exited — LambdaFunction* for a Lambda ARN resource; Fail: Entered only).
EVENTS = {"Task": 5, "Wait": 2, "Choice": 2, "Pass": 2, "Succeed": 2, "Fail": 1, "Parallel": 4, "Map": 4}
#: a retried attempt adds a failure and a new Scheduled + Started.
RETRY_EVENTS = 3
EXECUTION_EVENTS = 2  # ExecutionStarted, ExecutionSucceeded|Failed


def definition(name: str) -> dict:
    return json.loads((ASL / f"{name}.asl.json").read_text())


def _get(state: dict, path: str) -> Any:
    assert path.startswith("$."), path
    value: Any = state
    for part in path[2:].split("."):
        value = value[part]
    return value


def _put(state: dict, path: str | None, value: Any) -> dict:
    if path is None:
        return state
    parts = path[2:].split(".")
    out = dict(state)
    target = out
    for part in parts[:-1]:
        target[part] = dict(target.get(part) or {})
        target = target[part]
    target[parts[-1]] = value
    return out


def _choose(choice: dict, state: dict) -> str:
    for rule in choice["Choices"]:
        try:
            value = _get(state, rule["Variable"])
        except (KeyError, TypeError):
            continue
        if "BooleanEquals" in rule and value is rule["BooleanEquals"]:
            return rule["Next"]
    return choice["Default"]


def run_loop(doc: dict, entry: str, state: dict, poll, clock: list[float]) -> tuple[int, int, dict]:
    """Interpret the ASL from `entry` while it stays in the wait loop: (events, polls, state).

    `poll(step, state)` runs the real step; Wait states advance `clock[0]`. Stops early once
    the events are well past the quota (the old fixed-interval loop would run for minutes).
    """
    states, loop, name, events, polls = doc["States"], _loop(doc), entry, 0, 0
    while name in loop and events <= 2 * HISTORY_QUOTA:
        current = states[name]
        events += EVENTS[current["Type"]]
        if current["Type"] == "Wait":
            clock[0] += _get(state, current["SecondsPath"]) if "SecondsPath" in current else current["Seconds"]
            name = current["Next"]
        elif current["Type"] == "Task":
            polls += 1
            state = _put(state, current.get("ResultPath", "$"), poll(current["Parameters"]["step"], state))
            name = current["Next"]
        elif current["Type"] == "Choice":
            name = _choose(current, state)
        else:
            name = current["Next"]
    return events, polls, state


def _loop(doc: dict) -> set[str]:
    """The states of the wait loop: those on a cycle through the Wait state."""
    states = doc["States"]
    [wait] = [n for n, s in states.items() if s["Type"] == "Wait"]

    def successors(name: str) -> list[str]:
        s = states[name]
        found = [s[k] for k in ("Next", "Default") if k in s]
        return found + [c["Next"] for c in s.get("Choices", [])]

    def reaches(start: str, goal: str) -> bool:
        todo, seen = [start], set()
        while todo:
            n = todo.pop()
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(successors(n))
        return False

    return {n for n in states if reaches(wait, n) and reaches(n, wait)}


def outside_the_loop(doc: dict) -> int:
    """Events of every state outside the loop, each entered at most once, with all its retries."""
    loop, total = _loop(doc), EXECUTION_EVENTS
    for name, state in doc["States"].items():
        if name in loop:
            continue
        total += EVENTS[state["Type"]]
        total += sum(r["MaxAttempts"] for r in state.get("Retry", [])) * RETRY_EVENTS
    return total


def test_outside_the_loop_every_state_runs_at_most_once():
    """The bound adds each non-loop state once: the graph without the loop must be acyclic."""
    for name in ("deploy", "retrain", "monitor"):
        doc = definition(name)
        loop, states = _loop(doc), doc["States"]
        assert loop, name
        for start in states:
            if start in loop:
                continue
            todo = [(start, (start,))]
            while todo:
                node, trail = todo.pop()
                s = states[node]
                for nxt in [s[k] for k in ("Next", "Default") if k in s] + [
                        c["Next"] for c in s.get("Choices", []) + s.get("Catch", [])]:
                    if nxt in loop:
                        continue
                    assert nxt not in trail, f"{name}: {' → '.join((*trail, nxt))} repeats"
                    todo.append((nxt, (*trail, nxt)))


def _retrain_state(env, runtime: int) -> dict:
    # in-memory records (the core's own port): a poll's record write is not what is measured
    env = dataclasses.replace(env, deps=make_deps())
    state = model(env)
    state["poll_seconds"] = 30  # the default on AWS (MODELPORT_WORKFLOW_POLL_SECONDS)
    settings = env.settings.model_copy(update={"training_max_runtime_seconds": runtime})
    env = dataclasses.replace(env, settings=settings)
    return env, {**state, "job": retrain_steps.train(state, env)}


@pytest.mark.parametrize("runtime", [24 * 3600, None], ids=["24h-default", "longest-allowed"])
def test_the_longest_training_stays_under_the_history_quota(retrain_env, stubbed, runtime):
    """A retrain polls its training job for as long as the job may run (the default 24 h,
    and the longest MODELPORT_TRAINING_MAX_RUNTIME_SECONDS allows) and still stays under
    25,000 events, with every poll retried once."""
    if runtime is None:
        limit = RetrainStepsSettings.model_fields["training_max_runtime_seconds"].metadata
        runtime = next(m.le for m in limit if hasattr(m, "le"))
    env, state = _retrain_state(retrain_env, runtime)
    clock, sm = [0.0], stubbed["sagemaker"]

    def poll(step: str, state: dict) -> dict:
        assert step == "wait_training"
        status = "InProgress" if clock[0] < runtime else "Completed"
        sm.add_response("describe_training_job", describe(status))
        return retrain_steps.check_training(state, env)

    doc = definition("retrain")
    entry = doc["States"]["CreateTrainingJob"]["Next"]
    events, polls, state = run_loop(doc, entry, state, poll, clock)
    total = outside_the_loop(doc) + events + polls * RETRY_EVENTS
    assert total < HISTORY_QUOTA, f"{polls} polls over {runtime} s: {total} events"
    assert state["training"]["done"] is True, "the loop ended before the job did"


def _deployment(env, settings: EndpointSettings, poll_seconds: int) -> tuple[DeployEnv, dict]:
    """A deployment of churn 1.0.0 with in-memory records, and its plan (an endpoint creation)."""
    env = dataclasses.replace(env, deps=make_deps())
    registry.create_model(env.deps, ALICE, NewModel(name="churn", owner="alice", framework="sklearn"))
    registry.publish_version(env.deps, ALICE, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=1, card=CARD))
    new = NewDeployment(version="1.0.0", alias="staging", settings=settings)
    started = deployments.start_deployment(env.deps, ALICE, env.settings.rules(), Starter(), "churn", new,
                                           poll_seconds=poll_seconds)
    state = workflow_input(started, poll_seconds)
    plan = build_plan(state, image=CPU, allow_pickle=False, model_data_url="s3://a/m.tar.gz", current=None,
                      current_config=None, role_arn=SHARED_ROLE)
    return env, {**state, "plan": plan}


@pytest.mark.parametrize("poll_seconds", [30, 1])
def test_the_slowest_blue_green_update_stays_under_the_history_quota(env, stubbed, poll_seconds):
    """The slowest update SageMaker allows (MaximumExecutionTimeoutInSeconds 28,800 s) is
    polled to the end under 25,000 events, whatever the poll interval."""
    slowest = TrafficStrategy(type="linear", percent=10, wait_seconds=2520)
    env, state = _deployment(env, EndpointSettings(strategy=slowest), poll_seconds)
    duration = slowest.update_timeout_seconds
    clock, sm = [0.0], stubbed["sagemaker"]

    def poll(step: str, state: dict) -> dict:
        assert step == "wait_endpoint"
        done = clock[0] >= duration
        sm.add_response("describe_endpoint", endpoint(state["plan"]["endpoint"], "InService" if done else "Creating",
                                                      state["plan"]["config_name"]))
        return deploy_steps.check_endpoint(state, env)

    doc = definition("deploy")
    entry = doc["States"]["CreateEndpoint"]["Next"]
    events, polls, state = run_loop(doc, entry, state, poll, clock)
    total = outside_the_loop(doc) + events + polls * RETRY_EVENTS
    assert total < HISTORY_QUOTA, f"{polls} polls over {duration} s: {total} events"
    assert state["endpoint_status"]["ready"] is True, "the loop ended before the update did"


def _monitor_env(stubbed):
    """A monitoring run of churn:production (in-memory records) and the monitor steps' adapters."""
    from functions.adapters.monitoring import CaptureBucket, MonitoringMetrics, ProcessingJobs
    from functions.adapters.s3 import S3Objects
    from functions.core import governance, monitoring
    from functions.core.models import Lineage
    from functions.monitoring.settings import MonitorStepsSettings
    from functions.monitoring.steps import MonitorEnv

    deps = make_deps()
    registry.create_model(deps, ALICE, NewModel(name="churn", owner="alice", framework="sklearn"))
    registry.publish_version(deps, ALICE, "churn", NewVersion(version="1.0.0", sha256="ab" * 32, size=1, card=CARD,
                                                              lineage=Lineage(baseline_sha256="ef" * 32)))
    governance.set_alias(deps, monitoring.workflow_context("d"), "churn", "staging", "1.0.0",
                         endpoint="mp-test-churn-staging-0123456789abcdef")
    run = monitoring.open_run(deps, monitoring.workflow_context("mon"), "churn", "staging", source="schedule",
                              stage="test")
    settings = MonitorStepsSettings(stage="test", table_name="t", audit_table_name="a", artifacts_bucket="b",
                                    captures_bucket="c", datasets_bucket="d")
    sm = stubbed["sagemaker"].client
    env = MonitorEnv(settings=settings, deps=deps, captures=CaptureBucket(sm, "c"), labels=None, jobs=ProcessingJobs(sm),
                     metrics=MonitoringMetrics(sm), objects=S3Objects(sm))
    return env, run


def test_the_longest_drift_job_stays_under_the_history_quota(stubbed):
    """The monitor workflow's wait loop, for the longest processing job its settings allow."""
    from functions.monitoring import steps as monitor_steps
    from functions.monitoring.settings import MonitorStepsSettings

    limit = MonitorStepsSettings.model_fields["processing_max_runtime_seconds"].metadata
    runtime = next(m.le for m in limit if hasattr(m, "le"))
    env, run = _monitor_env(stubbed)
    env = dataclasses.replace(env, settings=env.settings.model_copy(update={"processing_max_runtime_seconds": runtime}))
    job = {"run_id": run.id, "model": "churn", "alias": "staging", "skip": False, "name": "mp-test-drift-1",
           "poll_seconds": 30, "max_runtime_seconds": runtime, "max_polls": 10**6}  # the count is what is measured
    clock, sm = [0.0], stubbed["sagemaker"]

    def poll(step: str, state: dict) -> dict:
        assert step == "wait_job"
        sm.add_response("describe_processing_job", {
            "ProcessingJobName": "mp-test-drift-1", "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/x",
            "ProcessingJobStatus": "InProgress" if clock[0] < runtime else "Completed", "CreationTime": "2025-01-01",
            "AppSpecification": {"ImageUri": CPU},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                      "VolumeSizeInGB": 30}}})
        return monitor_steps.check_job(state, env)

    doc = definition("monitor")
    entry = doc["States"]["CreateProcessingJob"]["Next"]
    events, polls, state = run_loop(doc, entry, {"job": job}, poll, clock)
    total = outside_the_loop(doc) + events + polls * RETRY_EVENTS
    assert total < HISTORY_QUOTA, f"{polls} polls over {runtime} s: {total} events"
    assert state["check"]["done"] is True, "the loop ended before the job did"
