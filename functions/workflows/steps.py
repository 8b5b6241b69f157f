"""What every workflow step handler shares: dispatch on `step`, and error names ASL can match.

A Task passes `{"step": "<name>", "input": <the state>}`; the handler runs that step and
returns its result (the Task's `ResultPath` places it). Errors keep their class names
(Step Functions matches a Python Lambda's `errorType`, the exception's class name), so:

* domain errors (`functions.core.errors`) reach `Catch` by name and are never retried;
* AWS throttling and transient failures that outlived the SDK's own retries become
  `ThrottlingException` / `ServiceUnavailableException`, which the ASL retries with backoff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

Step = Callable[[dict[str, Any], Any], dict[str, Any] | None]

_THROTTLING = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled",
    "RequestThrottledException", "SlowDown", "LimitExceededException", "TransactionInProgressException",
})  # fmt: skip
_TRANSIENT = frozenset({
    "InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable",
    "ServiceUnavailableException", "InternalServerException", "RequestTimeout", "RequestTimeoutException",
})  # fmt: skip


class ThrottlingException(Exception):
    """AWS throttled a call even after the SDK's retries; the state machine retries the step."""


class ServiceUnavailableException(Exception):
    """An AWS service failed transiently (5xx, connection); the state machine retries the step."""


class UnknownStep(Exception):
    """The Task named a step this Lambda does not have (a definition/handler mismatch)."""


def run(steps: Mapping[str, Step], event: dict[str, Any], logger: Logger, env: Callable[[], Any], *,
        ended: Step | None = None) -> dict[str, Any]:
    """Run `event["step"]` on `event["input"]` with the Lambda's adapters (`env()`),
    translating transient AWS errors. An EventBridge status change of an execution that
    ended outside its Catch (`ended_execution`) runs `ended` instead."""
    state = ended_execution(event) if ended is not None else None
    if state is not None:
        steps, event = {"execution_ended": ended}, {"step": "execution_ended", "input": state}
    name = event.get("step")
    step = steps.get(name) if isinstance(name, str) else None
    if step is None:
        raise UnknownStep(f"unknown step {name!r}; known: {', '.join(sorted(steps))}")
    state = event.get("input") or {}
    logger.append_keys(step=name, model=state.get("model"),
                       run=state.get("deployment_id") or state.get("retrain_id"))
    try:
        return step(state, env()) or {}
    except ClientError as error:
        raise translate(error) from error
    except (ConnectionError, HTTPClientError) as error:
        raise ServiceUnavailableException(f"could not reach AWS: {error}") from error


def translate(error: ClientError) -> Exception:
    """The exception a step raises for an AWS error: retryable names for transient ones."""
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    message = f"{error.operation_name}: {code}: {error.response.get('Error', {}).get('Message', '')}"
    if code in _THROTTLING or status == 429:
        return ThrottlingException(message)
    if code in _TRANSIENT or status >= 500:
        return ServiceUnavailableException(message)
    return error


#: how an execution can end without any Catch running: the 25,000-event history quota or
#: another runtime failure (FAILED), the state machine's own TimeoutSeconds (TIMED_OUT), a
#: StopExecution (ABORTED). EventBridge delivers these as "Step Functions Execution Status
#: Change" (eventbridge-integration.html); the Workflows stack routes them back to the steps Lambda.
STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED_OUTSIDE_THE_WORKFLOW = ("FAILED", "TIMED_OUT", "ABORTED")


def ended_execution(event: dict[str, Any]) -> dict[str, Any] | None:
    """The state for a `mark_failed` from an execution that ended where no Catch runs, or None
    when `event` is no such status change (a Task's `{"step", "input"}`)."""
    if event.get("source") != "aws.states" or event.get("detail-type") != STATUS_CHANGE:
        return None
    detail = event.get("detail") or {}
    status = str(detail.get("status") or "")
    if status not in ENDED_OUTSIDE_THE_WORKFLOW:
        return None
    try:
        state = json.loads(detail.get("input") or "{}")
    except ValueError:
        state = {}
    if not isinstance(state, dict):
        state = {}
    name = {"FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut", "ABORTED": "ExecutionAborted"}[status]
    reason = detail.get("cause") or detail.get("error") or {
        "FAILED": "a runtime failure no Catch handles, e.g. the 25,000-event history quota",
        "TIMED_OUT": "the state machine's TimeoutSeconds",
        "ABORTED": "a StopExecution",
    }[status]
    cause = f"the execution {detail.get('executionArn', '')} ended {status} outside the workflow's Catch: {reason}"
    return {**state, "error": {"Error": name, "Cause": cause[:2000]}}


def failure(state: dict[str, Any]) -> tuple[str, str]:
    """(error name, cause) from a Catch's `$.error`: a Lambda's `errorMessage` or the service's cause."""
    caught = state.get("error") or {}
    name = str(caught.get("Error") or "UnknownError")
    cause = caught.get("Cause") or ""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        cause = str(parsed["errorMessage"])
    return name, str(cause or name)[:2000]
