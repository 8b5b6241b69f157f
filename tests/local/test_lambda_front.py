"""Lambda `Invoke` answered in-process by the front, with Lambda's result and error shapes."""

from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError


class VersionNotFound(Exception):
    pass


@pytest.fixture
def function(cloud, unique):
    calls: list[tuple[dict, object]] = []

    def handler(event, context):
        calls.append((event, context))
        if event.get("fail"):
            raise VersionNotFound(f"version {event['fail']} does not exist")
        if event.get("unserialisable"):
            return {"value": object()}
        return {"echo": event, "function": context.function_name}

    name = f"fn-{unique}"
    arn = cloud.aws.lambdas.register(name, handler, timeout_s=30)
    yield name, arn, calls
    cloud.aws.lambdas.unregister(name)


def test_invoke_returns_the_handler_result_with_a_lambda_context(aws, function):
    name, arn, calls = function
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"x": 1}))
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"echo": {"x": 1}, "function": name}
    context = calls[0][1]
    assert context.invoked_function_arn == arn
    assert context.aws_request_id
    assert 0 < context.get_remaining_time_in_millis() <= 30_000


@pytest.mark.parametrize("form", ["arn", "qualified-arn", "partial-arn"])
def test_invoke_resolves_function_arns(aws, function, form):
    name, arn, _ = function
    identifier = {
        "arn": arn,
        "qualified-arn": f"{arn}:live",
        "partial-arn": f"123456789012:function:{name}",
    }[form]
    response = aws("lambda").invoke(FunctionName=identifier, Payload=b"{}")
    assert json.loads(response["Payload"].read())["function"] == name


def test_a_handler_exception_is_an_unhandled_function_error_named_by_its_class(aws, function):
    name, _, _ = function
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"fail": "9.9.9"}))
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "VersionNotFound"
    assert payload["errorMessage"] == "version 9.9.9 does not exist"
    assert isinstance(payload["stackTrace"], list)


def test_an_unserialisable_result_is_a_marshal_error(aws, function):
    name, _, _ = function
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"unserialisable": 1}))
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.MarshalError"


def test_an_unknown_function_is_resource_not_found(aws, unique):
    with pytest.raises(ClientError) as caught:
        aws("lambda").invoke(FunctionName=f"missing-{unique}", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert f"missing-{unique}" in caught.value.response["Error"]["Message"]


def test_a_payload_that_is_not_json_is_rejected(aws, function):
    name, _, calls = function
    with pytest.raises(ClientError) as caught:
        aws("lambda").invoke(FunctionName=name, Payload=b"{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert calls == []


def test_event_invocations_run_the_handler_asynchronously(cloud, aws, unique):
    done = threading.Event()
    seen = []

    def handler(event, context):
        seen.append(event)
        done.set()

    name = f"async-{unique}"
    cloud.aws.lambdas.register(name, handler)
    response = aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"a": 1}')
    assert response["StatusCode"] == 202
    assert done.wait(10)
    assert seen == [{"a": 1}]


def test_dry_run_does_not_call_the_handler(cloud, aws, function):
    name, _, calls = function
    response = aws("lambda").invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert calls == []
