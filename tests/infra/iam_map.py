"""boto3 calls → the IAM actions they need, and the check of a role against its Lambda's code."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from tests.infra.callgraph import ApiCall, botocore_client, lambda_calls

#: IAM prefixes that differ from the client's signing name.
_PREFIX = {"monitoring": "cloudwatch"}
#: operations whose IAM action is not `<prefix>:<Operation>`.
_RENAMED = {
    "s3:HeadObject": ("s3:GetObject",),
    "s3:CopyObject": ("s3:GetObject", "s3:PutObject"),  # reads the source, writes the target
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "dynamodb:TransactGetItems": ("dynamodb:GetItem",),
}
#: a TransactWriteItems needs the per-item action of each kind of item it writes
_TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_ALARMS = ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")
#: what AWS checks on the caller besides the action itself: Application Auto Scaling
#: validates the caller's rights on the scaled SageMaker variant and on the target-tracking
#: alarms it manages in the caller's name; the first registration creates its service-linked role.
DEPENDENT = {
    "application-autoscaling:RegisterScalableTarget": (
        "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
        "sagemaker:UpdateEndpointWeightsAndCapacities", "iam:CreateServiceLinkedRole",
    ),
    "application-autoscaling:PutScalingPolicy": _ALARMS,
    "application-autoscaling:DeleteScalingPolicy": _ALARMS,
    "application-autoscaling:DeregisterScalableTarget": _ALARMS,
    # a schedule's target role is passed to EventBridge Scheduler
    "scheduler:CreateSchedule": ("iam:PassRole",),
    "scheduler:UpdateSchedule": ("iam:PassRole",),
}  # fmt: skip
#: The platform's tables and buckets are encrypted with its KMS key (customer managed table
#: keys, SSE-KMS buckets; tests/infra/test_data.py): reading decrypts, writing an object makes
#: a data key, and table writes get the set that covers a customer managed table key.
_KMS_READ = frozenset({"kms:Decrypt"})
_KMS_OBJECT_WRITE = frozenset({"kms:GenerateDataKey"})
_KMS_TABLE_WRITE = frozenset({"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"})
_TABLE_READS = frozenset({"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"})


def operation(call: ApiCall) -> str:
    """`<signing name>:<Operation>` of a client method, e.g. `monitoring:PutMetricAlarm`."""
    client = botocore_client(call.service)
    return f"{client.meta.service_model.signing_name}:{client.meta.method_to_api_mapping[call.method]}"


def iam_actions(call: ApiCall) -> frozenset[str]:
    """The IAM actions one call needs on the caller's role, dependent and KMS ones included."""
    signing, _, op = operation(call).partition(":")
    prefix = _PREFIX.get(signing, signing)
    if prefix == "apigateway":
        # API Gateway's management API is authorised by HTTP method on the resource path
        http = botocore_client(call.service).meta.service_model.operation_model(op).http
        actions = {f"apigateway:{http['method']}"}
    elif f"{prefix}:{op}" == "dynamodb:TransactWriteItems":
        actions = {a for kind, a in _TRANSACT_ITEMS.items() if kind in call.names} or set(_TRANSACT_ITEMS.values())
    else:
        actions = set(_RENAMED.get(f"{prefix}:{op}", (f"{prefix}:{op}",)))
    if prefix == "s3" and "VersionId" in call.names and "s3:GetObject" in actions:
        actions.add("s3:GetObjectVersion")  # reading a given version is an action of its own
    for action in list(actions):
        actions.update(DEPENDENT.get(action, ()))
    if prefix == "dynamodb":
        actions |= _KMS_READ if actions <= _TABLE_READS else _KMS_TABLE_WRITE
    elif prefix == "s3":
        # HEAD decrypts only to return the object's checksum (ChecksumMode)
        if "s3:GetObject" in actions and (op != "HeadObject" or "ChecksumMode" in call.names):
            actions |= _KMS_READ
        if "s3:PutObject" in actions:
            actions |= _KMS_OBJECT_WRITE
    return frozenset(actions)


def required_actions(handler: str) -> dict[str, set[str]]:
    """IAM action → the calls of the Lambda with this handler that need it."""
    required: dict[str, set[str]] = {}
    for call in lambda_calls(handler):
        for action in iam_actions(call):
            required.setdefault(action, set()).add(f"{call.service}.{call.method} at {call.where}")
    return required


#: what the Lambda service itself does with a function's role, by function configuration
RUNTIME = {
    "logs": ("logs:CreateLogStream", "logs:PutLogEvents"),  # its own log group
    "tracing": ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),  # active tracing
    "sqs": (  # an SQS event source mapping polls and deletes for it
        "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ),
}  # fmt: skip


def role_problems(
    handler: str, granted: Iterable[str], runtime: Iterable[str], required: Mapping[str, set[str]] | None = None
) -> list[str]:
    """What is wrong with a Lambda role's actions: each action its code needs and the role
    lacks, and each action granted that neither the code nor the Lambda runtime uses."""
    granted, runtime = set(granted), set(runtime)
    required = required_actions(handler) if required is None else required
    problems = [
        f"{handler}: the role lacks {action}, needed by {'; '.join(sorted(why))}"
        for action, why in sorted(required.items())
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in granted)
    ]
    problems += [
        f"{handler}: the role grants {pattern}, which no call of its code needs"
        for pattern in sorted(granted - runtime)
        if not any(fnmatch.fnmatchcase(action, pattern) for action in required)
    ]
    return problems
