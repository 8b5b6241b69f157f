"""SQS queues (attributes, redrive, tags), CloudWatch metric alarms (with state) and
Application Auto Scaling targets and policies, to and from a JSON snapshot, through the
AWS APIs. Messages are the journal's (`modelport.local.aws.journal.sqs_state`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

_QUEUE_READ_ONLY = {
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "SqsManagedSseEnabled",
}
_ALARM_FIELDS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
    "InsufficientDataActions", "MetricName", "Namespace", "Statistic", "ExtendedStatistic",
    "Dimensions", "Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
    "ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics",
    "ThresholdMetricId",
)
_NAMESPACES = ("sagemaker", "dynamodb")
_TARGET_FIELDS = ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity",
                  "MaxCapacity", "RoleARN", "SuspendedState")
_POLICY_FIELDS = ("PolicyName", "ServiceNamespace", "ResourceId", "ScalableDimension",
                  "PolicyType", "StepScalingPolicyConfiguration",
                  "TargetTrackingScalingPolicyConfiguration")


def snapshot_queues(client: Any) -> list[dict]:
    queues = []
    for page in client.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            tags = client.list_queue_tags(QueueUrl=url).get("Tags", {})
            attrs = {
                k: v for k, v in attributes.get("Attributes", {}).items() if k not in _QUEUE_READ_ONLY
            }
            queues.append({"name": url.rsplit("/", 1)[-1], "attributes": attrs, "tags": tags})
    return queues


def restore_queues(client: Any, queues: list[dict]) -> None:
    # Queues first, redrive policies after: a policy names its DLQ, which must exist.
    for queue in queues:
        attrs = {k: v for k, v in queue["attributes"].items() if k != "RedrivePolicy"}
        try:
            url = client.create_queue(QueueName=queue["name"], Attributes=attrs)["QueueUrl"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = client.get_queue_url(QueueName=queue["name"])["QueueUrl"]
            settable = {k: v for k, v in attrs.items() if k not in ("FifoQueue",)}
            if settable:
                client.set_queue_attributes(QueueUrl=url, Attributes=settable)
        if queue.get("tags"):
            client.tag_queue(QueueUrl=url, Tags=queue["tags"])
    for queue in queues:
        policy = queue["attributes"].get("RedrivePolicy")
        if policy:
            url = client.get_queue_url(QueueName=queue["name"])["QueueUrl"]
            client.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})


def snapshot_alarms(client: Any) -> list[dict]:
    alarms = []
    for page in client.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            record = {k: alarm[k] for k in _ALARM_FIELDS if alarm.get(k) not in (None, [], "")}
            record["state"] = {"StateValue": alarm["StateValue"], "StateReason": alarm.get("StateReason") or "restored"}
            alarms.append(record)
    return alarms


def restore_alarms(client: Any, alarms: list[dict]) -> None:
    for alarm in alarms:
        state = alarm.pop("state", None)
        client.put_metric_alarm(**alarm)
        if state and state["StateValue"] != "INSUFFICIENT_DATA":
            client.set_alarm_state(AlarmName=alarm["AlarmName"], **state)


def snapshot_scaling(client: Any) -> dict:
    targets, policies = [], []
    for namespace in _NAMESPACES:
        for t in client.describe_scalable_targets(ServiceNamespace=namespace)["ScalableTargets"]:
            targets.append({k: t[k] for k in _TARGET_FIELDS if k in t})
        for p in client.describe_scaling_policies(ServiceNamespace=namespace)["ScalingPolicies"]:
            policies.append({k: p[k] for k in _POLICY_FIELDS if k in p})
    return {"targets": targets, "policies": policies}


def restore_scaling(client: Any, scaling: dict) -> None:
    for target in scaling.get("targets", []):
        client.register_scalable_target(**target)
    for policy in scaling.get("policies", []):
        client.put_scaling_policy(**policy)
