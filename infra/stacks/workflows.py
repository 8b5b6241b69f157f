"""Workflows stack: deploy and retrain state machines, their step Lambdas, the retrain trigger
and the platform event bus.

A nested stack of the Api stack: the control-plane handlers start these state machines and
the deploy workflow flushes the API's authorizer cache, a mutual reference CloudFormation
allows inside one stack tree but not between sibling stacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import ArnFormat, Duration, NestedStack, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from functions.core import execution_scope
from functions.workflows.steps import ENDED_OUTSIDE_THE_WORKFLOW, STATUS_CHANGE
from infra.asl import definition_actions
from infra.constructs.grants import (
    AUDIT_APPEND,
    TABLE_READ,
    TABLE_WRITE,
    grant_authorizer_cache_flush,
    grant_list,
    grant_objects,
    grant_table,
    sagemaker_arns,
)
from infra.constructs.platform_function import PlatformFunction, retention
from infra.packaging import CodeFactory
from infra.settings import StageSettings
from infra.stacks.data import DataStack
from infra.stacks.serving import ServingStack

ASL_DIR = Path(__file__).resolve().parents[2] / "functions" / "workflows"
_SAGEMAKER_TYPES = ("model", "endpoint-config", "endpoint", "training-job", "processing-job")
#: CloudWatch namespace of the drift metrics (functions.adapters.monitoring.METRICS_NAMESPACE).
MONITORING_NAMESPACE = "Modelport/Monitoring"


class WorkflowsStack(NestedStack):
    """Exposes `event_bus`, `deploy_state_machine`, `retrain_state_machine`,
    `monitor_state_machine`, `schedule_group`, `scheduler_role` and the `deploy_steps`,
    `retrain_steps`, `trigger`, `monitor_steps` and `capture_indexer` functions."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        data: DataStack,
        serving: ServingStack,
        code: CodeFactory,
        environment: Mapping[str, str],
        rest_api_id: str,
        api_stage_name: str,
    ) -> None:
        super().__init__(scope, id, description=f"Modelport {settings.name}: workflows")
        self.settings, self.data, self.serving = settings, data, serving
        self.removal = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        self.retention = retention(settings.log_retention_days)
        self.event_bus = events.EventBus(self, "PlatformEvents", description="Modelport platform events")

        env = {**environment, "MODELPORT_EVENT_BUS_NAME": self.event_bus.event_bus_name}
        # per-model execution roles (functions.core.execution_scope), bounded by the stage's boundary
        steps_env = {
            **env,
            "MODELPORT_EXECUTION_ROLE_BOUNDARY_ARN": serving.execution_boundary.managed_policy_arn,
            "MODELPORT_DATASETS_BUCKET": data.datasets_bucket.bucket_name,
            "MODELPORT_CAPTURES_BUCKET": data.captures_bucket.bucket_name,
            "MODELPORT_DATA_KEY_ARN": data.key.key_arn,
        }
        code_asset = code()
        self.deploy_steps = self._function(
            "DeploySteps", "functions.workflows.deploy_steps.lambda_handler", code_asset, steps_env,
            "deploy workflow steps",
        )
        self.retrain_steps = self._function(
            "RetrainSteps", "functions.workflows.retrain_steps.lambda_handler", code_asset, steps_env,
            "retrain workflow steps",
        )
        self.trigger = self._function(
            "RetrainTrigger", "functions.workflows.trigger.lambda_handler", code_asset, env, "retrain trigger (S3 to SQS)"
        )
        self.monitor_steps = self._function(
            "MonitorSteps", "functions.monitoring.steps.lambda_handler", code_asset, env, "monitor workflow steps"
        )
        self.capture_indexer = self._function(
            "CaptureIndexer", "functions.monitoring.indexer.lambda_handler", code_asset, env,
            "capture indexer (S3 to SQS)",
        )
        self._grant_steps(rest_api_id, api_stage_name)
        # the rollback alarms of production endpoints notify the stage's alarm topic
        self.deploy_steps.function.add_environment("MODELPORT_ALARM_TOPIC_ARN", data.alarm_topic.topic_arn)
        self._grant_monitoring()

        self.deploy_state_machine = self._state_machine("Deploy", ASL_DIR / "deploy.asl.json", {})
        self.retrain_state_machine = self._state_machine(
            "Retrain",
            ASL_DIR / "retrain.asl.json",
            {"DeployStateMachineArn": self.deploy_state_machine.state_machine_arn},
        )
        self.retrain_state_machine.grant_start_execution(self.trigger.function)
        self.retrain_steps.function.add_environment(
            "MODELPORT_DEPLOY_STATE_MACHINE_ARN", self.deploy_state_machine.state_machine_arn
        )
        self.deploy_state_machine.grant_start_execution(self.retrain_steps.function)
        self.trigger.function.add_environment(
            "MODELPORT_RETRAIN_STATE_MACHINE_ARN", self.retrain_state_machine.state_machine_arn
        )
        self.trigger.function.add_event_source(
            sources.SqsEventSource(data.dataset_queue, batch_size=10, report_batch_item_failures=True)
        )
        self._monitoring_workflow()
        self.ended_rules = {
            "Deploy": self._ended_rule("Deploy", self.deploy_state_machine, self.deploy_steps),
            "Retrain": self._ended_rule("Retrain", self.retrain_state_machine, self.retrain_steps),
            "Monitor": self._ended_rule("Monitor", self.monitor_state_machine, self.monitor_steps),
        }

    def _ended_rule(self, id: str, machine: sfn.StateMachine, steps: PlatformFunction) -> events.Rule:
        """An execution that ends where no Catch runs (the 25,000-event history quota, the
        machine's TimeoutSeconds, StopExecution) would leave its record `running`: its
        status change (on the default bus, eventbridge-integration.html) goes to the steps Lambda, which
        records the failure (functions.workflows.steps.ended_execution)."""
        return events.Rule(
            self,
            f"{id}EndedOutsideTheWorkflow",
            description=f"Modelport {self.settings.name}: {id.lower()} executions that ended without their Catch",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[STATUS_CHANGE],
                detail={"stateMachineArn": [machine.state_machine_arn], "status": list(ENDED_OUTSIDE_THE_WORKFLOW)},
            ),
            targets=[targets.LambdaFunction(steps.function, retry_attempts=8)],
        )

    def _function(self, id: str, handler: str, code: lambda_.Code, env: Mapping[str, str], what: str) -> PlatformFunction:
        return PlatformFunction(
            self,
            id,
            handler=handler,
            code=code,
            description=f"Modelport {self.settings.name}: {what}",
            environment=env,
            log_key=self.data.key,
            log_retention=self.retention,
            removal_policy=self.removal,
            timeout=Duration.minutes(1),
        )

    def _grant_steps(self, rest_api_id: str, api_stage_name: str) -> None:
        """What the step handlers' code calls (tests/infra/test_iam.py follows it); the
        SageMaker creates are native Tasks of the state machines, granted to their roles."""
        data, prefix = self.data, self.settings.endpoint_prefix
        deploy, retrain, trigger = self.deploy_steps.role, self.retrain_steps.role, self.trigger.role
        for role in (deploy, retrain):
            grant_table(role, data.table, data.key, *TABLE_READ, *TABLE_WRITE)
            self.event_bus.grant_put_events_to(role)
        # the trigger reads the model (one GetItem) and opens the retrain record
        grant_table(trigger, data.table, data.key, "dynamodb:GetItem", *TABLE_WRITE)
        for role in (deploy, retrain, trigger):
            grant_table(role, data.audit_table, data.key, *AUDIT_APPEND)
        for role in (deploy, retrain):
            self._grant_execution_roles(role)
        deploy.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EndpointLifecycle",
                # check and undo: describe, roll back (update to the previous config), delete;
                # Application Auto Scaling checks the caller may describe and resize the variant
                actions=[
                    "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:UpdateEndpoint",
                    "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities",
                ],
                resources=sagemaker_arns(self, prefix, "endpoint-config", "endpoint"),
            )
        )  # fmt: skip
        deploy.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EndpointAutoscaling",
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:DeleteScalingPolicy",
                    "application-autoscaling:DescribeScalingPolicies",
                ],
                # Application Auto Scaling has no resource ARNs to scope by; the service
                # namespace condition keeps it to SageMaker variants.
                resources=["*"],
                conditions={"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}},
            )
        )
        deploy.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AutoscalingServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    (
                        f"arn:{self.partition}:iam::{self.account}:role/aws-service-role/"
                        "sagemaker.application-autoscaling.amazonaws.com/*"
                    )
                ],
                conditions={"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
            )
        )
        deploy.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RollbackAlarms",
                actions=["cloudwatch:PutMetricAlarm"],
                resources=[self._alarms(prefix)],
            )
        )
        deploy.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TargetTrackingAlarms",
                # Application Auto Scaling manages these in the caller's name and checks its rights
                actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
                resources=[self._alarms(f"TargetTracking-endpoint/{prefix}")],
            )
        )
        grant_authorizer_cache_flush(deploy, self, rest_api_id, api_stage_name)
        # validate checks the version's artifact (HEAD with its checksum)
        grant_objects(deploy, data.artifacts_bucket, "models/*", "s3:GetObject")
        retrain.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TrainingJobs",
                actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
                resources=sagemaker_arns(self, prefix, "training-job"),
            )
        )
        # evaluate reads the training output; register copies it into models/ (PutObject also
        # covers the upload URL that publishing presigns and the retrain leaves unused), then
        # verifies the copy (HEAD with its checksum)
        grant_objects(retrain, data.artifacts_bucket, "training/*", "s3:GetObject")
        grant_objects(retrain, data.artifacts_bucket, "models/*", "s3:GetObject", "s3:PutObject")
        # a notification names an object version; HEAD of that version (or of the object)
        grant_objects(trigger, data.datasets_bucket, "datasets/*", "s3:GetObject", "s3:GetObjectVersion")

    def _execution_role_arns(self) -> str:
        path = execution_scope.role_path(self.settings.name)
        return f"arn:{self.partition}:iam::{self.account}:role{path}*"

    def _grant_execution_roles(self, role: iam.IRole) -> None:
        """Create and update per-model execution roles: only on the stage's role path and only
        carrying the stage's boundary, so no role the workflows make can exceed it."""
        roles, boundary = self._execution_role_arns(), self.serving.execution_boundary.managed_policy_arn
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadExecutionRoles", actions=["iam:GetRole"], resources=[roles]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ScopedExecutionRoles", actions=["iam:CreateRole", "iam:PutRolePolicy"], resources=[roles],
            conditions={"StringEquals": {"iam:PermissionsBoundary": boundary}},
        ))  # fmt: skip

    def _monitoring_workflow(self) -> None:
        """The monitor workflow, the capture indexer's event source, and the Scheduler group and
        role that start one drift run per deployed alias (the deploy steps put the schedules)."""
        data = self.data
        self.monitor_state_machine = self._state_machine("Monitor", ASL_DIR / "monitor.asl.json", {})
        self.capture_indexer.function.add_event_source(
            sources.SqsEventSource(data.capture_queue, batch_size=10, report_batch_item_failures=True)
        )
        self.schedule_group = scheduler.CfnScheduleGroup(self, "MonitoringSchedules")
        self.scheduler_role = iam.Role(
            self, "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": self.account}}),
            description="EventBridge Scheduler: start the monitor workflow for a deployed alias",
        )  # fmt: skip
        self.monitor_state_machine.grant_start_execution(self.scheduler_role)
        deploy = self.deploy_steps.function
        deploy.add_environment("MODELPORT_MONITOR_STATE_MACHINE_ARN", self.monitor_state_machine.state_machine_arn)
        deploy.add_environment("MODELPORT_SCHEDULER_ROLE_ARN", self.scheduler_role.role_arn)
        deploy.add_environment("MODELPORT_SCHEDULE_GROUP", self.schedule_group.ref)
        self.deploy_steps.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MonitoringSchedules",
                actions=["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
                resources=[self.format_arn(service="scheduler", resource="schedule",
                                           resource_name=f"{self.schedule_group.ref}/*")],
            )
        )  # fmt: skip
        self.deploy_steps.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassSchedulerRole",
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )

    def _grant_monitoring(self) -> None:
        """What the monitor steps and the capture indexer call (tests/infra/test_iam.py)."""
        data, prefix = self.data, self.settings.endpoint_prefix
        steps, indexer = self.monitor_steps.role, self.capture_indexer.role
        grant_table(steps, data.table, data.key, *TABLE_READ, *TABLE_WRITE)
        grant_table(steps, data.audit_table, data.key, *AUDIT_APPEND)
        self.event_bus.grant_put_events_to(steps)
        # prepare lists the window's capture files and writes the job's inputs; finish reads
        # the summary and copies the labelled window into the datasets for a retrain
        grant_list(steps, data.captures_bucket, prefix)
        grant_objects(steps, data.captures_bucket, "monitoring/*", "s3:GetObject", "s3:PutObject")
        grant_objects(steps, data.datasets_bucket, "datasets/*", "s3:GetObject", "s3:GetObjectVersion",
                      "s3:PutObject")
        steps.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DriftJobs",
                actions=["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"],
                resources=sagemaker_arns(self, prefix, "processing-job"),
            )
        )
        steps.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DriftMetrics",
                actions=["cloudwatch:PutMetricData"],
                # PutMetricData has no resource ARNs; the namespace condition scopes it
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": MONITORING_NAMESPACE}},
            )
        )
        # the indexer reads the endpoint's claim and model, writes one item per captured request
        grant_table(indexer, data.table, data.key, "dynamodb:GetItem", "dynamodb:BatchWriteItem")
        grant_objects(indexer, data.captures_bucket, f"{prefix}*", "s3:GetObject")

    def _alarms(self, name_prefix: str) -> str:
        return self.format_arn(
            service="cloudwatch", resource="alarm", resource_name=f"{name_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )  # fmt: skip

    def _state_machine(self, id: str, path: Path, extra: Mapping[str, str]) -> sfn.StateMachine:
        if not path.is_file():
            raise FileNotFoundError(f"workflow definition {path} is missing")
        data, serving = self.data, self.serving
        available = {
            "DeployStepsFunctionArn": self.deploy_steps.function.function_arn,
            "RetrainStepsFunctionArn": self.retrain_steps.function.function_arn,
            "MonitorStepsFunctionArn": self.monitor_steps.function.function_arn,
            "SageMakerRoleArn": serving.sagemaker_role.role_arn,
            "DriftJobRoleArn": serving.drift_job_role.role_arn,
            "ArtifactsBucket": data.artifacts_bucket.bucket_name,
            "DatasetsBucket": data.datasets_bucket.bucket_name,
            "CapturesBucket": data.captures_bucket.bucket_name,
            "EventBusName": self.event_bus.event_bus_name,
            **extra,
        }
        # Only the names the definition uses: an unused one would still be a reference, and
        # the deploy machine must not depend on the retrain steps (which start it).
        text = path.read_text()
        substitutions = {name: value for name, value in available.items() if "${" + name + "}" in text}
        role = iam.Role(self, f"{id}Role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
        log_group = logs.LogGroup(
            self, f"{id}Logs", encryption_key=data.key, retention=self.retention, removal_policy=self.removal
        )
        machine = sfn.StateMachine(
            self,
            id,
            definition_body=sfn.DefinitionBody.from_file(str(path)),
            definition_substitutions=substitutions,
            role=role,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        self._grant_definition(role, definition_actions(path), substitutions)
        return machine

    def _grant_definition(self, role: iam.Role, actions: set[str], substitutions: Mapping[str, str]) -> None:
        """Grant each action the definition calls, on the platform's resources only."""
        prefix = self.settings.endpoint_prefix
        by_service: dict[str, list[str]] = {}
        for action in sorted(actions):
            by_service.setdefault(action.split(":")[0], []).append(action)
        for service, service_actions in by_service.items():
            if service == "lambda":
                resources = [
                    value for name, value in substitutions.items() if name.endswith("StepsFunctionArn")
                ]
            elif service == "sagemaker":
                types = sorted({t for action in service_actions for t in sagemaker_types(action)})
                resources = sagemaker_arns(self, prefix, *types)
                if any(a in service_actions for a in ("sagemaker:CreateModel", "sagemaker:CreateTrainingJob")):
                    # the per-model execution roles (their path), to SageMaker only
                    role.add_to_policy(iam.PolicyStatement(
                        actions=["iam:PassRole"], resources=[self._execution_role_arns()],
                        conditions={"StringEquals": {"iam:PassedToService": execution_scope.SAGEMAKER}},
                    ))  # fmt: skip
                if "sagemaker:CreateProcessingJob" in service_actions:
                    # the drift job runs Modelport's own image with a role of its own
                    role.add_to_policy(iam.PolicyStatement(
                        actions=["iam:PassRole"], resources=[self.serving.drift_job_role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": execution_scope.SAGEMAKER}},
                    ))  # fmt: skip
            elif service == "events":
                resources = [self.event_bus.event_bus_arn]
            elif service == "states" and "DeployStateMachineArn" in substitutions:
                resources = [substitutions["DeployStateMachineArn"]]
            else:
                raise ValueError(
                    f"the workflow calls {', '.join(service_actions)}: add a least-privilege rule "
                    "for it to WorkflowsStack._grant_definition"
                )
            role.add_to_policy(iam.PolicyStatement(actions=service_actions, resources=resources))


def sagemaker_types(action: str) -> tuple[str, ...]:
    """SageMaker resource types an action touches (CreateEndpoint also reads its config)."""
    name = action.split(":", 1)[1]
    if "TrainingJob" in name:
        return ("training-job",)
    if "ProcessingJob" in name:
        return ("processing-job",)
    if "EndpointConfig" in name:
        return ("endpoint-config",)
    if name in ("CreateEndpoint", "UpdateEndpoint"):
        return ("endpoint", "endpoint-config")
    if "Endpoint" in name:
        return ("endpoint",)
    if "Model" in name:
        return ("model",)
    return _SAGEMAKER_TYPES
