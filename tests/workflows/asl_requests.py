"""The requests the ASL's native Tasks make, checked against botocore's service models.

A native Task (`arn:aws:states:::sagemaker:<action>`) sends its `Parameters` as the API's
request (the optimized integrations take the API's own PascalCase names,
connect-sagemaker.html). After definition substitution the JSONPath values (`"Key.$"`)
come from the state input, so the request is only known during a run: from an execution's
history (`TaskStateEntered` carries each state's input), every native Task's Parameters are
resolved as Step Functions resolves them and validated with botocore's `ParamValidator`,
so a misspelt or mis-shaped parameter fails a test here, not a deploy on AWS.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

NATIVE = "arn:aws:states:::"
#: every native Task of deploy.asl.json, retrain.asl.json and monitor.asl.json, and the local workflow test
#: whose run checks its request (tests/workflows/unit/test_asl.py keeps this list complete).
CHECKED_BY = {
    "deploy:CreateModel": "tests/workflows/local/test_deploy_workflow.py::test_first_deploy_then_canary_update",
    "deploy:CreateEndpointConfig": "tests/workflows/local/test_deploy_workflow.py::test_first_deploy_then_canary_update",
    "deploy:CreateEndpoint": "tests/workflows/local/test_deploy_workflow.py::test_first_deploy_then_canary_update",
    "deploy:UpdateEndpoint": "tests/workflows/local/test_deploy_workflow.py::test_first_deploy_then_canary_update",
    "retrain:CreateTrainingJob": (
        "tests/workflows/local/test_retrain_workflow.py::"
        "test_a_better_model_is_registered_with_lineage_and_deployed_to_staging"
    ),
    "monitor:CreateProcessingJob": (
        "tests/workflows/local/test_monitor_workflow.py::test_drifted_traffic_is_flagged_reported_announced_and_retrains"
    ),
}
_FORMAT = re.compile(r"^States\.Format\(\s*'((?:[^'\\]|\\.)*)'\s*((?:,\s*[^,]+?)*)\s*\)$")


@cache
def _service(name: str):
    return botocore.session.get_session().get_service_model(name)


def operation(resource: str) -> tuple[str, str]:
    """(botocore service, operation) of a native Task's Resource, e.g. sagemaker:createModel."""
    service, action = resource[len(NATIVE):].split(":", 1)
    if action.endswith((".sync", ".waitForTaskToken")):
        action = action.rsplit(".", 1)[0]
    return service, action[0].upper() + action[1:]


def path(document: Any, expression: str) -> Any:
    """A reference path (`$`, `$.a.b`, `$.a[0]`), as the ASL uses them."""
    if not expression.startswith("$"):
        raise ValueError(f"not a path: {expression!r}")
    value = document
    for part in re.findall(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]", expression[1:]):
        name, index = part
        value = value[int(index)] if index else value[name]
    return value


def intrinsic(expression: str, document: Any) -> Any:
    """The intrinsic functions the ASL uses (States.Format); any other fails loudly."""
    found = _FORMAT.match(expression.strip())
    if not found:
        raise ValueError(f"an intrinsic this check does not know: {expression!r}")
    template = found[1].replace("\\'", "'")
    args = [path(document, a.strip()) for a in found[2].split(",") if a.strip()]
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError(f"{expression!r}: {len(args)} arguments for {len(pieces) - 1} placeholders")
    return "".join(p + (str(a) if i < len(args) else "") for i, (p, a) in enumerate(zip(pieces, [*args, ""])))


def resolve(parameters: Any, document: Any) -> Any:
    """Parameters with every `"Key.$"` replaced by its value from the state input."""
    if isinstance(parameters, list):
        return [resolve(item, document) for item in parameters]
    if not isinstance(parameters, dict):
        return parameters
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key.endswith(".$"):
            out[key[:-2]] = path(document, value) if value.startswith("$") else intrinsic(value, document)
        else:
            out[key] = resolve(value, document)
    return out


def native_requests(sfn: Any, execution_arn: str) -> list[tuple[str, str, str, dict]]:
    """(state, service, operation, request) of every native Task the execution entered, from
    its (substituted) definition and its history."""
    execution = sfn.describe_execution(executionArn=execution_arn)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=execution["stateMachineArn"])["definition"])
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    found = []
    for event in events:
        if event["type"] != "TaskStateEntered":
            continue
        entered = event["stateEnteredEventDetails"]
        state = definition["States"][entered["name"]]
        if not state["Resource"].startswith(NATIVE):
            continue
        service, op = operation(state["Resource"])
        found.append((entered["name"], service, op, resolve(state.get("Parameters", {}), json.loads(entered["input"]))))
    return found


def check(state: str, service: str, op: str, request: dict) -> None:
    """Raise AssertionError naming what botocore's model refuses in the request."""
    try:
        validate_parameters(request, _service(service).operation_model(op).input_shape)
    except ParamValidationError as error:  # it lists every problem
        raise AssertionError(f"{state} ({service}:{op}) sends an invalid request: {error}\n{request}") from None


def validated_tasks(sfn: Any, execution_arn: str) -> set[str]:
    """Validate every native Task request of the execution; the names of the states checked."""
    checked = set()
    for state, service, op, request in native_requests(sfn, execution_arn):
        check(state, service, op, request)
        checked.add(state)
    return checked
