"""Both ASL files: every transition lands on a state, every Task is caught, retries are transient only."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from functions.core import errors
from functions.monitoring import steps as monitor_steps
from functions.workflows import deploy_steps, retrain_steps

ASL = Path(deploy_steps.__file__).parent
CONTRACT_SUBSTITUTIONS = {
    "DeployStepsFunctionArn", "RetrainStepsFunctionArn", "DeployStateMachineArn", "SageMakerRoleArn",
    "ArtifactsBucket", "DatasetsBucket", "CapturesBucket", "EventBusName", "MonitorStepsFunctionArn", "DriftJobRoleArn",
}  # fmt: skip
HANDLERS = {"deploy": ("DeployStepsFunctionArn", deploy_steps.STEPS), "retrain": ("RetrainStepsFunctionArn", retrain_steps.STEPS),
            "monitor": ("MonitorStepsFunctionArn", monitor_steps.STEPS)}
DOMAIN_ERRORS = {name for name, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.DomainError)}
DOMAIN_ERRORS -= {"ConcurrentModification"}  # a lost optimistic-concurrency race is transient


def definition(name: str) -> dict:
    return json.loads((ASL / f"{name}.asl.json").read_text())


def targets(state: dict) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [c["Next"] for c in state.get("Catch", [])]
    found += [c["Next"] for c in state.get("Choices", [])]
    return found


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_every_transition_target_exists_and_every_state_is_reachable(name):
    doc = definition(name)
    states = doc["States"]
    assert doc["StartAt"] in states
    for state_name, state in states.items():
        for target in targets(state):
            assert target in states, f"{name}: {state_name} → {target}, which does not exist"
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End")
        assert terminal or targets(state), f"{name}: {state_name} leads nowhere"
    seen, todo = set(), [doc["StartAt"]]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(targets(states[current]))
    assert seen == set(states), f"{name}: unreachable {set(states) - seen}"


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_every_task_has_a_catch_of_every_error(name):
    for state_name, state in definition(name)["States"].items():
        if state["Type"] == "Task":
            catches = [e for c in state.get("Catch", []) for e in c["ErrorEquals"]]
            assert "States.ALL" in catches, f"{name}: task {state_name} has no Catch of States.ALL"


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_retries_name_only_transient_errors(name):
    for state_name, state in definition(name)["States"].items():
        for retrier in state.get("Retry", []):
            names = set(retrier["ErrorEquals"])
            assert "States.ALL" not in names and "States.TaskFailed" not in names, state_name
            assert not names & DOMAIN_ERRORS, f"{name}: {state_name} retries domain errors {names & DOMAIN_ERRORS}"
            assert retrier.get("BackoffRate", 1) > 1 and retrier["MaxAttempts"] <= 6


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_substitutions_and_lambda_steps_match_the_contract_and_the_handlers(name):
    text = (ASL / f"{name}.asl.json").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= CONTRACT_SUBSTITUTIONS
    function, steps = HANDLERS[name]
    used = set()
    for state_name, state in definition(name)["States"].items():
        if state["Type"] != "Task":
            continue
        resource = state["Resource"]
        if resource.startswith("arn:aws:states:::"):
            assert resource.startswith("arn:aws:states:::sagemaker:"), (state_name, resource)
            assert not resource.endswith(".sync"), "the local interpreter cannot follow .sync"
            continue
        assert resource == f"${{{function}}}", (state_name, resource)
        assert state["Parameters"]["input.$"] == "$"
        used.add(state["Parameters"]["step"])
    assert used == set(steps), f"{name}: steps without a state {set(steps) - used}, unknown {used - set(steps)}"


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_polling_is_wait_states_bounded_by_the_step(name):
    waits = {n: s for n, s in definition(name)["States"].items() if s["Type"] == "Wait"}
    assert len(waits) == 1
    [wait] = waits.values()
    assert "SecondsPath" in wait and "Seconds" not in wait
    check = definition(name)["States"][wait["Next"]]
    assert check["Type"] == "Task" and check["Parameters"]["step"] in ("wait_endpoint", "wait_training", "wait_job")


def test_a_failed_flush_still_records_success_without_losing_the_error():
    states = definition("deploy")["States"]
    [catch] = states["FlushAuthorizerCache"]["Catch"]
    assert (catch["Next"], catch["ResultPath"]) == ("RecordSucceeded", "$.flush_error")
    assert states["MarkFailed"]["Catch"][0]["ResultPath"] != "$.error"


def test_the_state_machines_outlast_the_longest_polling_budget():
    """A state machine's own timeout skips every Catch (the record would stay `running`):
    the steps' budgets (EndpointTimedOut, TrainingTimedOut) must always fire first."""
    from functions.core.endpoints import EndpointSettings, TrafficStrategy
    from functions.workflows.deploy_plan import max_polls
    from functions.workflows.settings import RetrainStepsSettings

    slowest = EndpointSettings(strategy=TrafficStrategy(type="linear", percent=10, wait_seconds=2520))  # 25,200 s: the most allowed
    assert definition("deploy")["TimeoutSeconds"] > max_polls(slowest, 30) * (30 + 5)  # wait + a poll step
    longest_training = RetrainStepsSettings.model_fields["training_max_runtime_seconds"].metadata
    limit = next(m.le for m in longest_training if hasattr(m, "le"))
    assert definition("retrain")["TimeoutSeconds"] > limit + 24 * 3600


def test_endpoints_capture_json_and_csv_as_text_like_the_cdk_construct():
    from functions.core.endpoints import CAPTURED_AS_TEXT

    capture = definition("deploy")["States"]["CreateEndpointConfig"]["Parameters"]["DataCaptureConfig"]
    assert capture["CaptureContentTypeHeader"] == CAPTURED_AS_TEXT


def _retried(state: dict, error: str) -> dict | None:
    """The retrier Step Functions picks for `error` (ASL: first match; States.ALL matches
    anything, States.TaskFailed anything but States.Timeout)."""
    for retrier in state.get("Retry", []):
        names = retrier["ErrorEquals"]
        if error in names or "States.ALL" in names or ("States.TaskFailed" in names and error != "States.Timeout"):
            return retrier
    return None


@pytest.mark.parametrize("name", ["deploy", "retrain", "monitor"])
def test_sagemaker_throttling_is_retried_as_aws_reports_it(name):
    """The optimized SageMaker integrations report every AWS error as
    `SageMaker.AmazonSageMakerException`, the AWS error code only in the Cause
    (connect-sagemaker.html, concepts-error-handling.html): a retrier on
    `SageMaker.ThrottlingException` never fires."""
    cause = ("Rate exceeded (Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException; "
             "Request ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b; Proxy: null)")
    throttled = ("SageMaker.AmazonSageMakerException", cause)
    tasks = {s: st for s, st in definition(name)["States"].items()
             if st.get("Type") == "Task" and st["Resource"].startswith("arn:aws:states:::sagemaker:")}
    assert tasks
    for state_name, state in tasks.items():
        retrier = _retried(state, throttled[0])
        assert retrier is not None, f"{name}: {state_name} does not retry {throttled[0]} ({throttled[1]})"
        assert retrier["BackoffRate"] > 1 and retrier["MaxAttempts"] >= 3 and retrier.get("JitterStrategy") == "FULL"
        for never in ("SageMaker.ThrottlingException", "ThrottlingException"):
            assert never not in retrier["ErrorEquals"], f"{state_name}: {never} is never raised here"


def test_an_update_keeps_the_endpoints_current_capacity():
    """Without RetainAllVariantProperties an endpoint autoscaled to N instances comes back at
    InitialInstanceCount and takes all traffic until autoscaling catches up
    (API_UpdateEndpoint.html). The new config's data capture still applies."""
    parameters = definition("deploy")["States"]["UpdateEndpoint"]["Parameters"]
    assert parameters["RetainAllVariantProperties"] is True
    assert parameters["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DataCaptureConfig"}]


def test_every_native_task_request_is_checked_against_botocores_model_by_a_run():
    """tests/workflows/asl_requests.py validates each native Task's resolved Parameters in a
    local run; a native Task added to either ASL must get such a check."""
    from tests.workflows.asl_requests import CHECKED_BY

    native = {f"{name}:{state_name}" for name in ("deploy", "retrain", "monitor")
              for state_name, state in definition(name)["States"].items()
              if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::")}
    assert native == set(CHECKED_BY)
    for check in CHECKED_BY.values():
        path, test = check.split("::")
        assert f"def {test}(" in (ASL.parents[1] / path).read_text(), check


def test_a_misspelt_or_mis_shaped_parameter_fails_the_check():
    """What the runs' check does with a request botocore's model refuses (the optimized
    integrations take the API's own PascalCase names)."""
    from tests.workflows.asl_requests import check, operation, resolve

    update = definition("deploy")["States"]["UpdateEndpoint"]
    state_input = {"plan": {"endpoint": "mp-dev-churn-production-0123456789abcdef",
                            "config_name": "mp-dev-churn-production-0123456789abcdef-d1"},
                   "rollout": {"deployment_config": {"BlueGreenUpdatePolicy": {
                       "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}}}}
    service, op = operation(update["Resource"])
    assert (service, op) == ("sagemaker", "UpdateEndpoint")
    check("UpdateEndpoint", service, op, resolve(update["Parameters"], state_input))
    camel = {("endpointName.$" if k == "EndpointName.$" else k): v for k, v in update["Parameters"].items()}
    with pytest.raises(AssertionError, match="Unknown parameter in input: \"endpointName\""):
        check("UpdateEndpoint", service, op, resolve(camel, state_input))
    shaped = {**update["Parameters"], "RetainAllVariantProperties": "true"}
    with pytest.raises(AssertionError, match="RetainAllVariantProperties"):
        check("UpdateEndpoint", service, op, resolve(shaped, state_input))
    with pytest.raises(KeyError):  # a JSONPath the state input does not have
        resolve({"EndpointName.$": "$.plan.endpoint_name"}, state_input)


def test_the_drift_job_reads_and_writes_where_the_job_expects():
    from model_containers.monitoring import job

    request = definition("monitor")["States"]["CreateProcessingJob"]["Parameters"]
    inputs = {i["InputName"]: i["S3Input"]["LocalPath"] for i in request["ProcessingInputs"]}
    assert inputs == {name: f"/opt/ml/{path}" for name, path in (
        ("config", job.CONFIG), ("captures", job.CAPTURES), ("model", job.MODEL), ("labels", job.LABELS))}
    [output] = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == f"/opt/ml/{job.REPORT}"
    assert request["AppSpecification"]["ContainerEntrypoint"][-1] == "monitor"
