"""The service integrations the platform's ASL uses, as moto's interpreter runs them behind
the front (with `modelport.local.aws.sfn_compat`): see docs/contracts.md, "Local mode"."""

from __future__ import annotations

import json
import re

from modelport.local.testing import ROLE_ARN, run_state_machine

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def task(resource: str, parameters: dict, result_path: str, next_state: str, **extra) -> dict:
    return {"Type": "Task", "Resource": f"arn:aws:states:::{resource}", "Parameters": parameters,
            "ResultPath": result_path, "Next": next_state, **extra}


def test_platform_integrations_run_like_on_aws(cloud, aws, unique):
    flushed: list[str] = []
    cloud.aws.front.register_authorizer_cache(f"api{unique}", "local", lambda: flushed.append("x"))
    aws("events").create_event_bus(Name=f"bus-{unique}")
    aws("cloudwatch").put_metric_alarm(
        AlarmName=f"latency-{unique}", MetricName="ModelLatency", Namespace="AWS/SageMaker",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    child = aws("stepfunctions").create_state_machine(
        name=f"child-{unique}", roleArn=ROLE_ARN,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    resource_id = f"endpoint/ep-{unique}/variant/AllTraffic"
    definition = {"StartAt": "Start", "States": {
        "Start": task("states:startExecution", {"StateMachineArn": child, "Input": {"a": 1}},
                      "$.child", "StartAgain"),
        "StartAgain": task("states:startExecution", {"StateMachineArn": child}, "$.child2", "Event"),
        "Event": task("events:putEvents", {"Entries": [{
            "Source": "modelport", "DetailType": "Deployment Succeeded",
            "Detail": {"model": "churn"}, "EventBusName": f"bus-{unique}"}]}, "$.event", "Target"),
        "Target": task("aws-sdk:applicationautoscaling:registerScalableTarget", {
            "ServiceNamespace": "sagemaker", "ResourceId": resource_id,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1, "MaxCapacity": 3}, "$.target", "Alarms"),
        "Alarms": task("aws-sdk:cloudwatch:describeAlarms", {"AlarmNames": [f"latency-{unique}"]},
                       "$.alarms", "Flush"),
        "Flush": task("aws-sdk:apigateway:flushStageAuthorizersCache",
                      {"RestApiId": f"api{unique}", "StageName": "local"}, "$.flush", "MissingJob"),
        "MissingJob": task(
            "aws-sdk:sagemaker:describeTrainingJob", {"TrainingJobName": f"none-{unique}"},
            "$.job", "MissingEndpoint",
            Catch=[{"ErrorEquals": ["SageMaker.ResourceNotFoundException"],
                    "ResultPath": "$.jobError", "Next": "MissingEndpoint"}]),
        "MissingEndpoint": task(
            "sagemaker:updateEndpoint", {"EndpointName": f"none-{unique}", "EndpointConfigName": "x"},
            "$.update", "Context",
            Catch=[{"ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                    "ResultPath": "$.updateError", "Next": "Context"}]),
        "Context": {"Type": "Pass", "Parameters": {"start.$": "$$.Execution.StartTime"},
                    "ResultPath": "$.context", "End": True},
    }}
    result = run_state_machine(aws("stepfunctions"), definition, {}, f"integrations-{unique}")
    assert result["status"] == "SUCCEEDED", result
    out = json.loads(result["output"])
    assert out["child"]["ExecutionArn"] != out["child2"]["ExecutionArn"]  # unnamed → UUID names
    assert ISO.match(out["child"]["StartDate"])
    assert out["event"]["FailedEntryCount"] == 0
    assert out["target"]["ScalableTargetArn"].startswith("arn:aws:application-autoscaling:")
    targets = aws("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id])["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 3)]
    alarm = out["alarms"]["MetricAlarms"][0]
    assert alarm["AlarmName"] == f"latency-{unique}"
    assert ISO.match(alarm["StateUpdatedTimestamp"])
    assert flushed == ["x"]
    assert out["jobError"]["Error"] == "SageMaker.ResourceNotFoundException"
    assert out["updateError"]["Error"] == "SageMaker.AmazonSageMakerException"
    assert "Could not find endpoint" in out["updateError"]["Cause"]
    assert ISO.match(out["context"]["start"])


def test_a_keyword_named_path_binding_is_a_path_binding(aws, unique):
    """`"RoleArn.$"` (createTrainingJob's role, from the state) selects like any `.$` key;
    moto's lexer takes it for the ASL keyword and passed the path through as a literal."""
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"RoleArn.$": "$.job.role_arn", "Plain": "RoleArn.$", "Name.$": "$.job.name"},
        "End": True}}}
    result = run_state_machine(aws("stepfunctions"), definition, {"job": {"role_arn": "arn:r", "name": "j"}},
                               f"keyword-binding-{unique}")
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"RoleArn": "arn:r", "Plain": "RoleArn.$", "Name": "j"}
