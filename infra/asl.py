"""Read what an Amazon States Language definition calls, so its role grants exactly that."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

#: `arn:aws:states:::<service>:<api>` optimized integrations whose IAM action differs in name.
_OPTIMIZED = {
    ("lambda", "invoke"): "lambda:InvokeFunction",
    ("events", "putEvents"): "events:PutEvents",
    ("states", "startExecution"): "states:StartExecution",
    ("sns", "publish"): "sns:Publish",
    ("sqs", "sendMessage"): "sqs:SendMessage",
    ("dynamodb", "getItem"): "dynamodb:GetItem",
    ("dynamodb", "putItem"): "dynamodb:PutItem",
    ("dynamodb", "updateItem"): "dynamodb:UpdateItem",
    ("dynamodb", "deleteItem"): "dynamodb:DeleteItem",
}
#: aws-sdk service names whose IAM prefix differs.
_SDK_PREFIX = {"sfn": "states", "sagemakerruntime": "sagemaker", "applicationautoscaling": "application-autoscaling"}


def _states(node: dict) -> Iterator[dict]:
    for state in node.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key])


def task_resources(definition: dict) -> list[str]:
    """The `Resource` of every Task state, nested Parallel/Map states included."""
    return [state["Resource"] for state in _states(definition) if state.get("Type") == "Task"]


def iam_action(resource: str) -> str:
    """IAM action a Task resource needs, e.g. `arn:aws:states:::sagemaker:createEndpoint`
    → `sagemaker:CreateEndpoint`; a Lambda function ARN or `${...}` → `lambda:InvokeFunction`."""
    if not resource.startswith("arn:aws:states:::"):
        return "lambda:InvokeFunction"  # a function ARN (or its substitution) as the resource
    service_api = resource.removeprefix("arn:aws:states:::").split(".")[0]  # drop .sync/.waitForTaskToken
    parts = service_api.split(":")
    if parts[0] == "aws-sdk":
        service, api = parts[1], parts[2]
        service = _SDK_PREFIX.get(service, service)
    else:
        service, api = parts[0], parts[1]
        if (service, api) in _OPTIMIZED:
            return _OPTIMIZED[(service, api)]
    return f"{service}:{api[0].upper()}{api[1:]}"


def definition_actions(path: Path) -> set[str]:
    """Every IAM action the state machine in `path` calls (substitutions left in place)."""
    return {iam_action(resource) for resource in task_resources(json.loads(path.read_text()))}
