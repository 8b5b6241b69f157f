"""Create the platform's AWS resources in the embedded AWS from the definitions the CDK
app uses: tables from `functions.adapters.schema`, state machines from the ASL files with
the contract substitutions (contracts.md), and buckets, queues, the S3 → SQS dataset
notification and the event bus by the names local mode gives them.

Every step is idempotent: a restart finds tables, buckets and queues restored from the
snapshot and only (re)creates what snapshots do not keep (state machines, the event bus,
bucket notifications).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.adapters.schema import AUDIT, METADATA
from functions.core import execution_scope
from modelport.local.platform.settings import PlatformSettings

ASL_DIR = Path(__file__).resolve().parents[3] / "functions" / "workflows"
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
#: contract Lambda names (contracts.md) → handler module:function.
API_FUNCTIONS = {
    "authorizer": "functions.auth.handler:lambda_handler",
    "registry": "functions.registry.handler:lambda_handler",
    "versioning": "functions.versioning.handler:lambda_handler",
    "keys": "functions.keys.handler:lambda_handler",
    "audit": "functions.audit.handler:lambda_handler",
    "deployments": "functions.deployments.handler:lambda_handler",
    "retraining": "functions.retraining.handler:lambda_handler",
    "monitoring": "functions.monitoring.handler:lambda_handler",
}
#: handlers that start executions: they wait until the state machines exist.
STARTS_EXECUTIONS = frozenset({"deployments", "retrain-trigger", "retrain-steps", "monitoring", "monitor-steps"})
WORKFLOW_FUNCTIONS = {
    "deploy-steps": "functions.workflows.deploy_steps:lambda_handler",
    "retrain-steps": "functions.workflows.retrain_steps:lambda_handler",
    "retrain-trigger": "functions.workflows.trigger:lambda_handler",
    "monitor-steps": "functions.monitoring.steps:lambda_handler",
    "capture-indexer": "functions.monitoring.indexer:lambda_handler",
}
INSTANCE_TYPES = (
    "ml.t2.medium", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large", "ml.c5.xlarge",
    "ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g6.xlarge",
)  # fmt: skip


@dataclass(frozen=True)
class Names:
    """Physical names and ARNs of local mode's resources."""

    table: str
    audit_table: str
    artifacts_bucket: str
    datasets_bucket: str
    captures_bucket: str
    queue: str
    dead_letter_queue: str
    event_bus: str
    #: queue (and rule) of the terminal's event lines
    event_feed: str
    deploy_state_machine: str
    retrain_state_machine: str
    sagemaker_role_arn: str
    execution_boundary_arn: str
    monitor_state_machine: str
    capture_queue: str
    capture_dead_letter_queue: str
    schedule_group: str

    @classmethod
    def for_settings(cls, s: PlatformSettings) -> Names:
        return cls(
            table=s.name("meta"), audit_table=s.name("audit"),
            artifacts_bucket=s.name("artifacts"), datasets_bucket=s.name("datasets"),
            captures_bucket=s.name("captures"), queue=s.name("datasets"),
            dead_letter_queue=s.name("datasets-dlq"), event_bus=s.name("events"), event_feed=s.name("event-feed"),
            deploy_state_machine=s.name("deploy"), retrain_state_machine=s.name("retrain"),
            sagemaker_role_arn=f"arn:aws:iam::{s.account_id}:role/{s.name('sagemaker')}",
            execution_boundary_arn=f"arn:aws:iam::{s.account_id}:policy/{s.name('execution-boundary')}",
            monitor_state_machine=s.name("monitor"), capture_queue=s.name("captures"),
            capture_dead_letter_queue=s.name("captures-dlq"), schedule_group=s.name("monitoring"),
        )  # fmt: skip

    def state_machine_arn(self, s: PlatformSettings, name: str) -> str:
        return f"arn:aws:states:{s.region}:{s.account_id}:stateMachine:{name}"

    def environment(self, s: PlatformSettings) -> dict[str, str]:
        """The `MODELPORT_*` settings every handler reads (contracts.md, "Settings")."""
        return {
            "MODELPORT_STAGE": s.stage,
            "MODELPORT_TABLE_NAME": self.table,
            "MODELPORT_AUDIT_TABLE_NAME": self.audit_table,
            "MODELPORT_ARTIFACTS_BUCKET": self.artifacts_bucket,
            "MODELPORT_DATASETS_BUCKET": self.datasets_bucket,
            "MODELPORT_CAPTURES_BUCKET": self.captures_bucket,
            "MODELPORT_DEPLOY_STATE_MACHINE_ARN": self.state_machine_arn(s, self.deploy_state_machine),
            "MODELPORT_RETRAIN_STATE_MACHINE_ARN": self.state_machine_arn(s, self.retrain_state_machine),
            "MODELPORT_MONITOR_STATE_MACHINE_ARN": self.state_machine_arn(s, self.monitor_state_machine),
            "MODELPORT_SCHEDULER_ROLE_ARN": f"arn:aws:iam::{s.account_id}:role/{s.name('scheduler')}",
            "MODELPORT_SCHEDULE_GROUP": self.schedule_group,
            "MODELPORT_EVENT_BUS_NAME": self.event_bus,
            "MODELPORT_REST_API_ID": s.rest_api_id,
            "MODELPORT_API_STAGE_NAME": s.api_stage_name,
            "MODELPORT_SAGEMAKER_ROLE_ARN": self.sagemaker_role_arn,
            "MODELPORT_EXECUTION_ROLE_BOUNDARY_ARN": self.execution_boundary_arn,
            "MODELPORT_REGION": s.region,
            "MODELPORT_CPU_IMAGE_URI": s.image("cpu"),
            "MODELPORT_GPU_IMAGE_URI": s.image("gpu"),
            "MODELPORT_ALLOWED_INSTANCE_TYPES": ",".join(INSTANCE_TYPES),
            # the workflows' Describe polls (Wait states): SageMaker here answers in seconds
            "MODELPORT_WORKFLOW_POLL_SECONDS": str(s.workflow_poll_seconds),
        }


def substitute(definition: str, values: dict[str, str]) -> str:
    """Replace `${Name}` as CDK's `DefinitionBody` substitutions do; unknown names fail."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"ASL substitution ${{{name}}} has no value in local mode")
        return values[name]

    return _SUBSTITUTION.sub(one, definition)


def create_all(client: Callable[[str], Any], s: PlatformSettings, names: Names) -> None:
    """Everything but the state machines (`create_state_machines`, slower: see handlers.WorkflowGate)."""
    create_tables(client("dynamodb"), names)
    for bucket in (names.artifacts_bucket, names.datasets_bucket, names.captures_bucket):
        create_bucket(client("s3"), bucket)
    queue_arn = create_queues(client("sqs"), names, s.max_receive_count)
    client("s3").put_bucket_notification_configuration(
        Bucket=names.datasets_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{
                "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "datasets/"}]}},
            }]
        },
    )  # fmt: skip
    # new capture files → the capture indexer (labels are checked against what was captured)
    capture_arn = create_queue_pair(client("sqs"), names.capture_queue, names.capture_dead_letter_queue,
                                    s.max_receive_count)
    client("s3").put_bucket_notification_configuration(
        Bucket=names.captures_bucket,
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": capture_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".jsonl"}]}},
        }]},
    )  # fmt: skip
    events = client("events")
    try:
        events.create_event_bus(Name=names.event_bus)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    create_execution_boundary(client("iam"), s, names)
    scheduler = client("scheduler")
    try:  # (moto's CreateScheduleGroup would replace an existing group, schedules and all)
        scheduler.get_schedule_group(Name=names.schedule_group)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        scheduler.create_schedule_group(Name=names.schedule_group)


def create_execution_boundary(iam: Any, s: PlatformSettings, names: Names) -> None:
    """The per-model execution roles' boundary, from the same definition as the CDK app's
    (the workflows create a role per model under it, as on AWS)."""
    targets = execution_scope.Targets(
        partition="aws", region=s.region, account=s.account_id, stage=s.stage,
        artifacts_bucket=names.artifacts_bucket, datasets_bucket=names.datasets_bucket,
        captures_bucket=names.captures_bucket,
    )  # fmt: skip
    try:
        iam.create_policy(PolicyName=names.execution_boundary_arn.rsplit("/", 1)[1],
                          PolicyDocument=json.dumps(execution_scope.boundary_policy(targets)))
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise


def create_tables(dynamodb: Any, names: Names) -> None:
    for schema, name in ((METADATA, names.table), (AUDIT, names.audit_table)):
        try:
            dynamodb.describe_table(TableName=name)
            continue
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        dynamodb.create_table(**schema.create_table_kwargs(name))
        if schema.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.ttl_attribute}
            )


def create_bucket(s3: Any, name: str) -> None:
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError:
        pass
    s3.create_bucket(Bucket=name)
    # Dataset events carry version ids (the trigger is idempotent on bucket/key/version).
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def create_queues(sqs: Any, names: Names, max_receive_count: int) -> str:
    return create_queue_pair(sqs, names.queue, names.dead_letter_queue, max_receive_count)


def create_queue_pair(sqs: Any, queue: str, dead_letter_queue: str, max_receive_count: int) -> str:
    """A queue with its DLQ (redrive after `max_receive_count`); returns the queue's ARN."""
    dlq_url = sqs.create_queue(QueueName=dead_letter_queue)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "30"})
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def queue_url(sqs: Any, names: Names, queue: str | None = None) -> str:
    return sqs.get_queue_url(QueueName=queue or names.queue)["QueueUrl"]


def create_event_feed(client: Callable[[str], Any], names: Names) -> str:
    """A rule on the platform's bus sending every Modelport event to a queue (for the
    terminal's event lines, `modelport.local.logs.EventFeed`); returns the queue's URL."""
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName=names.event_feed)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = events.put_rule(Name=names.event_feed, EventBusName=names.event_bus,
                           EventPattern=json.dumps({"source": ["modelport"]}))["RuleArn"]
    # what AWS needs for EventBridge to send to a queue (a resource policy on the queue)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=names.event_feed, EventBusName=names.event_bus, Targets=[{"Id": "feed", "Arn": arn}])
    return url


def create_state_machines(sfn: Any, s: PlatformSettings, names: Names, lambda_arn: Callable[[str], str]) -> None:
    """Both workflows from their ASL files; skipped while the files do not exist yet."""
    values = {
        "DeployStepsFunctionArn": lambda_arn("deploy-steps"),
        "RetrainStepsFunctionArn": lambda_arn("retrain-steps"),
        "MonitorStepsFunctionArn": lambda_arn("monitor-steps"),
        "DeployStateMachineArn": names.state_machine_arn(s, names.deploy_state_machine),
        "SageMakerRoleArn": names.sagemaker_role_arn,
        "DriftJobRoleArn": f"arn:aws:iam::{s.account_id}:role/{s.name('drift-job')}",
        "ArtifactsBucket": names.artifacts_bucket,
        "DatasetsBucket": names.datasets_bucket,
        "CapturesBucket": names.captures_bucket,
        "EventBusName": names.event_bus,
    }
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    role = f"arn:aws:iam::{s.account_id}:role/{s.name('workflows')}"
    machines = ((names.deploy_state_machine, "deploy.asl.json"), (names.retrain_state_machine, "retrain.asl.json"),
                (names.monitor_state_machine, "monitor.asl.json"))
    for name, file in machines:
        path = ASL_DIR / file
        if not path.is_file():
            continue
        definition = substitute(path.read_text(), values)
        if name in existing:
            sfn.update_state_machine(stateMachineArn=existing[name], definition=definition)
        else:
            sfn.create_state_machine(name=name, definition=definition, roleArn=role)
