"""Workflows: state machines from the ASL files, logged and traced; SQS trigger; exact grants."""

from __future__ import annotations

import json
import re

from aws_cdk import Stack

from infra.asl import definition_actions, iam_action
from tests.infra.conftest import ASL, resources


def test_state_machines_log_everything_encrypted_and_trace(templates):
    template = templates["workflows"]
    machines = resources(template, "AWS::StepFunctions::StateMachine").values()
    assert len(machines) == 3  # deploy, retrain, monitor
    groups = resources(template, "AWS::Logs::LogGroup")
    for machine in machines:
        props = machine["Properties"]
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
        assert props["TracingConfiguration"] == {"Enabled": True}
        group = props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
        assert "KmsKeyId" in groups[group["Fn::GetAtt"][0]]["Properties"]


CONTRACT_SUBSTITUTIONS = {
    "DeployStepsFunctionArn", "RetrainStepsFunctionArn", "DeployStateMachineArn", "SageMakerRoleArn",
    "ArtifactsBucket", "DatasetsBucket", "CapturesBucket", "EventBusName", "MonitorStepsFunctionArn", "DriftJobRoleArn",
}  # fmt: skip


def test_definitions_are_the_asl_files_with_every_name_substituted(templates):
    machines = list(resources(templates["workflows"], "AWS::StepFunctions::StateMachine").values())
    used = [set(re.findall(r"\$\{(\w+)\}", (ASL / n).read_text()))
            for n in ("deploy.asl.json", "retrain.asl.json", "monitor.asl.json")]
    substituted = [set(m["Properties"]["DefinitionSubstitutions"]) for m in machines]
    for machine in machines:
        assert "Key" in machine["Properties"]["DefinitionS3Location"]  # the file itself, as an asset
    assert sorted(map(sorted, substituted)) == sorted(map(sorted, used))
    assert set().union(*used) <= CONTRACT_SUBSTITUTIONS


def test_trigger_reads_the_queue_with_partial_batch_failure(templates):
    templates["workflows"].has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10},
    )


def test_each_machine_role_grants_exactly_what_its_definition_calls(platform, templates):
    template, workflows = templates["workflows"], platform.api.workflows
    for machine, name in ((workflows.deploy_state_machine, "deploy"), (workflows.retrain_state_machine, "retrain"),
                          (workflows.monitor_state_machine, "monitor")):
        role_id = workflows.resolve(workflows.get_logical_id(machine.role.node.default_child))
        granted = set()
        for policy in resources(template, "AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"]
                    granted |= set([actions] if isinstance(actions, str) else actions)
        granted -= {"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
                    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                    "xray:GetSamplingTargets", "iam:PassRole"}  # fmt: skip
        assert granted == definition_actions(ASL / f"{name}.asl.json"), name


def test_pass_role_only_to_sagemaker_for_the_per_model_execution_roles(templates, platform):
    """Issue 10: the state machines pass the per-model roles (their path), never the shared one."""
    passes = [
        s for p in resources(templates["workflows"], "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "iam:PassRole"
    ]  # fmt: skip
    assert passes
    for statement in passes:
        if "DriftJobRole" in json.dumps(statement["Resource"]):
            # the drift job (Modelport's own image, no model code) runs with a role of its own
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
            continue
        if "SchedulerRole" in json.dumps(statement["Resource"]):
            # the deploy steps give a drift-monitoring schedule its role, to EventBridge Scheduler only
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
            continue
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        assert statement["Resource"] == {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"},
                                                           ":role/modelport/dev/*"]]}


def test_the_steps_create_execution_roles_only_with_the_boundary_on_the_stage_path(templates, platform):
    """Issue 10: CreateRole/PutRolePolicy need the stage's boundary, so no role they make (or
    change) can exceed it, whatever model name or policy a workflow is given."""
    boundary = platform.serving.execution_boundary
    boundary_ref = Stack.of(boundary).resolve(boundary.managed_policy_arn)
    found = {}
    for policy in resources(templates["workflows"], "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("iam:") and a != "iam:PassRole" and "ServiceLinked" not in a for a in actions):
                found.setdefault(tuple(sorted(actions)), []).append(statement)
    assert set(found) == {("iam:GetRole",), ("iam:CreateRole", "iam:PutRolePolicy")}
    assert len(found[("iam:CreateRole", "iam:PutRolePolicy")]) == 2  # deploy and retrain steps
    for statement in found[("iam:CreateRole", "iam:PutRolePolicy")]:
        assert statement["Resource"] == {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"},
                                                           ":role/modelport/dev/*"]]}
        [(key, value)] = statement["Condition"]["StringEquals"].items()
        assert key == "iam:PermissionsBoundary" and "ModelExecutionBoundary" in json.dumps(value)
    assert "ModelExecutionBoundary" in json.dumps(boundary_ref)
    # the boundary is the core's envelope, the shared role's grants and no more
    document = resources(templates["serving"], "AWS::IAM::ManagedPolicy")
    [(logical, managed)] = [(k, v) for k, v in document.items() if "ModelExecutionBoundary" in k]
    sids = {s["Sid"] for s in managed["Properties"]["PolicyDocument"]["Statement"]}
    assert sids == {"Artifacts", "TrainingOutput", "Datasets", "ListDatasets", "Captures", "RollbackAlarms",
                    "PullAuth", "ContainerLogs", "ContainerMetrics", "PullImage", "DataKey"}, logical


def test_asl_task_resources_map_to_iam_actions():
    assert iam_action("arn:aws:states:::sagemaker:createEndpoint") == "sagemaker:CreateEndpoint"
    assert iam_action("arn:aws:states:::aws-sdk:sagemaker:describeEndpoint") == "sagemaker:DescribeEndpoint"
    assert iam_action("arn:aws:states:::lambda:invoke") == "lambda:InvokeFunction"
    assert iam_action("${DeployStepsFunctionArn}") == "lambda:InvokeFunction"
    assert iam_action("arn:aws:states:::states:startExecution.sync:2") == "states:StartExecution"
    assert iam_action("arn:aws:states:::aws-sdk:applicationautoscaling:registerScalableTarget") == (
        "application-autoscaling:RegisterScalableTarget"
    )


def test_executions_that_end_outside_their_catch_reach_the_steps_lambda(platform, templates):
    """The history quota, the machine's timeout and StopExecution end an execution without
    its Catch; EventBridge's status change (default bus, eventbridge-integration.html) goes to the steps
    Lambda of that machine, which records the failure (test_execution_ended.py)."""
    template, workflows = templates["workflows"], platform.api.workflows
    rules = resources(template, "AWS::Events::Rule")
    for machine, steps in ((workflows.deploy_state_machine, workflows.deploy_steps),
                           (workflows.retrain_state_machine, workflows.retrain_steps),
                           (workflows.monitor_state_machine, workflows.monitor_steps)):
        machine_id = workflows.resolve(workflows.get_logical_id(machine.node.default_child))
        function_id = workflows.resolve(workflows.get_logical_id(steps.function.node.default_child))
        [(rule_id, rule)] = [(k, r) for k, r in rules.items()
                             if r["Properties"]["EventPattern"].get("detail", {}).get("stateMachineArn")
                             == [{"Ref": machine_id}]]
        props = rule["Properties"]
        assert "EventBusName" not in props  # AWS service events arrive on the default bus
        assert props["EventPattern"]["source"] == ["aws.states"]
        assert props["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
        assert sorted(props["EventPattern"]["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
        [target] = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} and "Input" not in target
        template.has_resource_properties("AWS::Lambda::Permission", {
            "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]}, "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        })
