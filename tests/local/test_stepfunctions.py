"""moto's Step Functions interpreter running ASL against the front: Lambda tasks, SageMaker
service integrations, aws-sdk polling loops and Catch on named errors."""

from __future__ import annotations

import json
import time

import pytest

from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN, python_model, run_state_machine


class VersionNotFound(Exception):
    pass


def run(aws, definition: dict, payload: dict, name: str) -> dict:
    return run_state_machine(aws("stepfunctions"), definition, payload, name)


def test_a_deploy_shaped_workflow_runs_to_succeeded(cloud, aws, bucket, unique, tmp_path):
    archive = python_model(tmp_path, offset=100)
    aws("s3").upload_file(str(archive), bucket, "models/m/model.tar.gz")
    steps: list[dict] = []

    def handler(event, context):
        steps.append(event)
        if event["step"] == "prepare":
            return {"names": {"model": f"m-{unique}", "endpoint": f"ep-{unique}"}, "ignored": 1}
        if event["step"] == "record":
            return {"recorded": event["status"]}
        raise VersionNotFound(f"no version {event['version']}")

    arn = cloud.aws.lambdas.register(f"deploy-steps-{unique}", handler)
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload": {"step": "prepare"}},
                "ResultSelector": {"names.$": "$.Payload.names"},
                "ResultPath": "$.prepared", "Next": "CreateModel",
            },
            "CreateModel": {
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$.prepared.names.model", "ExecutionRoleArn": ROLE_ARN,
                    "PrimaryContainer": {"Image": MODELPORT_IMAGE, "ModelDataUrl.$": "$.artifact"},
                },
                "ResultSelector": {"arn.$": "$.ModelArn"}, "ResultPath": "$.model",
                "Next": "CreateConfig",
            },
            "CreateConfig": {
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createEndpointConfig",
                "Parameters": {
                    "EndpointConfigName.$": "$.prepared.names.model",
                    "ProductionVariants": [{
                        "VariantName": "AllTraffic", "ModelName.$": "$.prepared.names.model",
                        "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1,
                    }],
                },
                "ResultPath": "$.config", "Next": "CreateEndpoint",
            },
            "CreateEndpoint": {
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createEndpoint",
                "Parameters": {
                    "EndpointName.$": "$.prepared.names.endpoint",
                    "EndpointConfigName.$": "$.prepared.names.model",
                },
                "ResultPath": "$.created", "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Describe"},
            "Describe": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
                "Parameters": {"EndpointName.$": "$.prepared.names.endpoint"},
                "ResultSelector": {"status.$": "$.EndpointStatus"},
                "ResultPath": "$.endpoint", "Next": "Ready?",
            },
            "Ready?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.endpoint.status", "StringEquals": "InService", "Next": "Record"},
                    {"Variable": "$.endpoint.status", "StringEquals": "Failed", "Next": "Broken"},
                ],
                "Default": "Wait",
            },
            "Record": {
                "Type": "Task", "Resource": arn,
                "Parameters": {"step": "record", "status.$": "$.endpoint.status"},
                "ResultPath": "$.record", "Next": "Verify",
            },
            "Verify": {
                "Type": "Task", "Resource": arn,
                "Parameters": {"step": "verify", "version": "9.9.9"},
                "Catch": [{"ErrorEquals": ["VersionNotFound"], "ResultPath": "$.caught", "Next": "Done"}],
                "Next": "Broken",
            },
            "Broken": {"Type": "Fail", "Error": "Unexpected"},
            "Done": {"Type": "Succeed"},
        },
    }
    started = time.perf_counter()
    result = run(aws, definition, {"artifact": f"s3://{bucket}/models/m/model.tar.gz"}, f"deploy-{unique}")
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["prepared"] == {"names": {"model": f"m-{unique}", "endpoint": f"ep-{unique}"}}
    assert output["model"]["arn"].endswith(f":model/m-{unique}")
    assert output["config"]["EndpointConfigArn"].endswith(f":endpoint-config/m-{unique}")
    assert output["created"]["EndpointArn"].endswith(f":endpoint/ep-{unique}")
    assert output["endpoint"] == {"status": "InService"}
    assert output["record"] == {"recorded": "InService"}
    assert output["caught"]["Error"] == "VersionNotFound"
    assert "no version 9.9.9" in json.loads(output["caught"]["Cause"])["errorMessage"]
    assert [s["step"] for s in steps] == ["prepare", "record", "verify"]
    # The endpoint the workflow created serves the model.
    answer = aws("sagemaker-runtime").invoke_endpoint(
        EndpointName=f"ep-{unique}", Body=b"[[1, 2]]", ContentType="application/json"
    )
    assert json.loads(answer["Body"].read()) == {"predictions": [103.0]}
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("catch", ["States.TaskFailed", "States.ALL", "VersionNotFound"])
def test_named_lambda_errors_are_caught_by_name_and_by_task_failed(cloud, aws, unique, catch):
    def handler(event, context):
        raise VersionNotFound("missing")

    arn = cloud.aws.lambdas.register(f"failing-{unique}", handler)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload": {}},
                "Catch": [{"ErrorEquals": [catch], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = run(aws, definition, {}, f"catch-{unique}")
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["error"]["Error"] == "VersionNotFound"


def test_retry_matches_a_named_error_then_the_task_succeeds(cloud, aws, unique):
    attempts = []

    def handler(event, context):
        attempts.append(1)
        if len(attempts) < 3:
            raise VersionNotFound("not yet")
        return {"ok": len(attempts)}

    arn = cloud.aws.lambdas.register(f"flaky-{unique}", handler)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task", "Resource": arn,
                "Retry": [{"ErrorEquals": ["VersionNotFound"], "IntervalSeconds": 1,
                           "MaxAttempts": 3, "BackoffRate": 1.0}],
                "End": True,
            },
        },
    }
    result = run(aws, definition, {}, f"retry-{unique}")
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"ok": 3}


def test_an_uncaught_named_error_fails_the_execution_with_that_error(cloud, aws, unique):
    def handler(event, context):
        raise VersionNotFound("gone")

    arn = cloud.aws.lambdas.register(f"fatal-{unique}", handler)
    definition = {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}}}
    result = run(aws, definition, {}, f"fatal-{unique}")
    assert result["status"] == "FAILED"
    assert result["error"] == "VersionNotFound"
