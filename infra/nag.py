"""cdk-nag acknowledgements: each names the exact finding, where it applies, and why it stands.

Acknowledgements go through `Validations.of(construct).acknowledge(...)` (cdk-nag 3.x) with
the finding's full id, e.g. `AwsSolutions-IAM5[Resource::arn:aws:sagemaker:...:endpoint/mp-dev-*]`,
so a new wildcard on the same role is still reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.asl import definition_actions
from infra.stacks.workflows import ASL_DIR, sagemaker_types

if TYPE_CHECKING:
    from infra.platform import Platform

_X_RAY = "X-Ray PutTraceSegments/PutTelemetryRecords take no resource ARN (active tracing)."


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledged finding: where (the construct and its children), its full id, why."""

    construct: IConstruct
    id: str
    reason: str


def acknowledge_one(construct: IConstruct, rule: str, reason: str, *findings: str) -> list[Acknowledged]:
    """Acknowledge AwsSolutions `rule` (e.g. `IAM5`) on `construct` and its children."""
    ids = [f"AwsSolutions-{rule}[{finding}]" for finding in findings] or [f"AwsSolutions-{rule}"]
    Validations.of(construct).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))
    return [Acknowledged(construct, i, reason) for i in ids]


def acknowledge_findings(platform: Platform) -> list[Acknowledged]:
    """Acknowledge the AwsSolutions findings that are deliberate; returns them (tests check
    that each still matches something in the templates)."""
    done: list[Acknowledged] = []

    def acknowledge(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
        done.extend(acknowledge_one(construct, rule, reason, *findings))

    data, serving, api = platform.data, platform.serving, platform.api
    settings = data.settings
    account = settings.account or "<AWS::AccountId>"
    region = settings.region

    def arn(service: str, resource: str) -> str:
        return f"Resource::arn:aws:{service}:{region}:{account}:{resource}"

    def objects(consumer: Stack, bucket: s3.IBucket, pattern: str) -> str:
        """How cdk-nag spells `<bucket ARN>/<pattern>` in a stack that imports the bucket."""
        name = Stack.of(bucket).resolve(Stack.of(bucket).export_value(bucket.bucket_arn))["Fn::ImportValue"]
        return f"Resource::{name}/{pattern}"

    endpoints = settings.endpoint_prefix + "*"
    dynamic = (
        f"SageMaker resources are created per deployment and retrain, so the grant covers the "
        f"stage's name prefix ({endpoints}) rather than names known at deploy time."
    )

    # --- every Lambda ---------------------------------------------------------------------
    workflows = api.workflows
    functions = [api.authorizer_function, *api.functions.values(),
                 workflows.deploy_steps, workflows.retrain_steps, workflows.trigger,
                 workflows.monitor_steps, workflows.capture_indexer]  # fmt: skip
    for fn in functions:
        acknowledge(fn.function, "L1", "python3.12 is the runtime the Lambda bundle is built for "
                    "(cp312 arm64 wheels); moving runtimes is a deliberate upgrade with its own tests.")
    for fn in functions:
        if fn not in (workflows.deploy_steps, workflows.monitor_steps):
            acknowledge(fn.role, "IAM5", _X_RAY, "Resource::*")
    acknowledge(
        workflows.monitor_steps.role, "IAM5",
        _X_RAY + " cloudwatch:PutMetricData takes no resource ARN; its statement is limited by the "
        "cloudwatch:namespace = Modelport/Monitoring condition.",
        "Resource::*",
    )  # fmt: skip
    acknowledge(workflows.monitor_steps.role, "IAM5", dynamic, arn("sagemaker", f"processing-job/{endpoints}"))
    acknowledge(
        workflows.deploy_steps.role, "IAM5",
        "One drift-monitoring schedule per deployed alias, created when the alias is deployed, in "
        "the stage's own schedule group.",
        f"Resource::arn:aws:scheduler:{region}:{account}:schedule/<MonitoringSchedules>/*",
    )
    acknowledge(
        workflows.deploy_steps.role, "IAM5",
        _X_RAY + " Application Auto Scaling has no resource ARNs; its statement is limited by the "
        "application-autoscaling:service-namespace = sagemaker condition.",
        "Resource::*",
    )  # fmt: skip
    acknowledge(
        workflows.deploy_steps.role, "IAM5", dynamic,
        arn("sagemaker", f"endpoint-config/{endpoints}"), arn("sagemaker", f"endpoint/{endpoints}"),
    )  # fmt: skip
    acknowledge(
        workflows.deploy_steps.role, "IAM5",
        "Rollback alarms are created per endpoint, under the stage's endpoint prefix; the "
        "target-tracking alarms Application Auto Scaling manages in the caller's name are "
        "named after the scaled variant (TargetTracking-endpoint/<endpoint>/...).",
        arn("cloudwatch", f"alarm:{endpoints}"), arn("cloudwatch", f"alarm:TargetTracking-endpoint/{endpoints}"),
    )  # fmt: skip
    acknowledge(
        workflows.deploy_steps.role, "IAM5",
        "The Application Auto Scaling service-linked role for SageMaker has an AWS-chosen suffix.",
        f"Resource::arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*",
    )
    acknowledge(workflows.retrain_steps.role, "IAM5", dynamic, arn("sagemaker", f"training-job/{endpoints}"))
    prefix_reason = "Objects are keyed per model and version; the grant is limited to the one prefix this role uses."
    for role, bucket, prefix in (
        (api.functions["registry"].role, data.artifacts_bucket, "models/*"),  # presigned artifact uploads
        (api.functions["versioning"].role, data.artifacts_bucket, "models/*"),  # verifying an upload
        (api.functions["retraining"].role, data.datasets_bucket, "datasets/*"),  # presigned dataset uploads
        (workflows.trigger.role, data.datasets_bucket, "datasets/*"),  # the notified dataset version
        (workflows.deploy_steps.role, data.artifacts_bucket, "models/*"),  # verifying the artifact
        (workflows.retrain_steps.role, data.artifacts_bucket, "training/*"),  # evaluating the output
        (workflows.retrain_steps.role, data.artifacts_bucket, "models/*"),  # registering the candidate
        (api.functions["monitoring"].role, data.captures_bucket, "monitoring/*"),  # drift reports
        (workflows.monitor_steps.role, data.captures_bucket, "monitoring/*"),  # the drift job's inputs, its summary
        (workflows.monitor_steps.role, data.datasets_bucket, "datasets/*"),  # a drift-started retrain's dataset
        (workflows.capture_indexer.role, data.captures_bucket, endpoints),  # the endpoints' capture files
    ):
        acknowledge(role, "IAM5", prefix_reason, objects(api, bucket, prefix))

    # --- state machines -------------------------------------------------------------------
    machines = ((workflows.deploy_state_machine, "deploy"), (workflows.retrain_state_machine, "retrain"),
                (workflows.monitor_state_machine, "monitor"))
    for machine, name in machines:
        acknowledge(
            machine.role, "IAM5",
            "CloudWatch Logs log delivery (logs:CreateLogDelivery, ...) and X-Ray accept no resource ARN.",
            "Resource::*",
        )  # fmt: skip
        # the SageMaker resource types the definition's tasks touch (WorkflowsStack grants those)
        actions = definition_actions(ASL_DIR / f"{name}.asl.json")
        kinds = sorted({kind for a in actions if a.startswith("sagemaker:") for kind in sagemaker_types(a)})
        acknowledge(machine.role, "IAM5", dynamic, *(arn("sagemaker", f"{kind}/{endpoints}") for kind in kinds))

    # --- SageMaker execution role ---------------------------------------------------------
    role = serving.sagemaker_role
    acknowledge(
        role, "IAM5",
        "ecr:GetAuthorizationToken takes no resource ARN; cloudwatch:PutMetricData is limited by "
        "the cloudwatch:namespace condition to SageMaker's namespaces.",
        "Resource::*",
    )  # fmt: skip
    acknowledge(
        role, "IAM5",
        "Endpoints read any published model artifact, training jobs read datasets and write their "
        "output, endpoints write captures: each limited to its prefix.",
        objects(serving, data.artifacts_bucket, "models/*"), objects(serving, data.artifacts_bucket, "training/*"),
        objects(serving, data.datasets_bucket, "datasets/*"), objects(serving, data.captures_bucket, "*"),
    )  # fmt: skip
    acknowledge(
        role, "IAM5", "SageMaker names its log groups /aws/sagemaker/<kind>/<resource name>.",
        arn("logs", "log-group:/aws/sagemaker/*"),
    )
    drift = serving.drift_job_role
    acknowledge(drift, "IAM5", "ecr:GetAuthorizationToken takes no resource ARN.", "Resource::*")
    acknowledge(
        drift, "IAM5",
        "The drift job reads the window's capture files (keyed per endpoint and hour) and its inputs under "
        "monitoring/, the version's artifact under models/, and writes its report under monitoring/.",
        objects(serving, data.captures_bucket, "*"), objects(serving, data.captures_bucket, "monitoring/*"),
        objects(serving, data.artifacts_bucket, "models/*"),
    )  # fmt: skip
    acknowledge(drift, "IAM5", "SageMaker names processing jobs' log groups /aws/sagemaker/ProcessingJobs.",
                arn("logs", "log-group:/aws/sagemaker/ProcessingJobs*"))
    acknowledge(
        role, "IAM5",
        "Deployment guardrails read each endpoint's auto-rollback alarms, named after the endpoint "
        "under the stage's endpoint prefix.",
        arn("cloudwatch", f"alarm:{endpoints}"),
    )

    # --- per-model execution roles (functions.core.execution_scope) ---------------------------
    roles = f"Resource::arn:aws:iam::{account}:role/modelport/{settings.name}/*"
    per_model = (
        "Each model gets its own SageMaker execution role, created by the workflows on the stage's "
        "role path; CreateRole and PutRolePolicy also require the stage's permissions boundary "
        "(iam:PermissionsBoundary), PassRole only to sagemaker.amazonaws.com."
    )
    for role in (workflows.deploy_steps.role, workflows.retrain_steps.role,
                 workflows.deploy_state_machine.role, workflows.retrain_state_machine.role):
        acknowledge(role, "IAM5", per_model, roles)

    def exported(bucket: s3.IBucket, pattern: str) -> str:
        name = Stack.of(bucket).resolve(Stack.of(bucket).export_value(bucket.bucket_name))["Fn::ImportValue"]
        return f"Resource::arn:aws:s3:::{name}/{pattern}"

    acknowledge(
        serving.execution_boundary, "IAM5",
        "The boundary is the envelope of every per-model role (each role's own policy names its "
        "model's prefixes): published artifacts, training output, datasets, captures, the stage's "
        "rollback alarms and SageMaker's log groups; ecr:GetAuthorizationToken takes no resource "
        "and cloudwatch:PutMetricData is limited to SageMaker's namespaces.",
        "Resource::*", arn("cloudwatch", f"alarm:{endpoints}"), arn("logs", "log-group:/aws/sagemaker/*"),
        exported(data.artifacts_bucket, "models/*"), exported(data.artifacts_bucket, "training/*"),
        exported(data.datasets_bucket, "datasets/*"), exported(data.captures_bucket, "*"),
    )  # fmt: skip

    # --- API --------------------------------------------------------------------------------
    acknowledge(api.inference_role, "IAM5", dynamic, arn("sagemaker", f"endpoint/{endpoints}"))
    acknowledge(
        api.api, "COG4",
        "Callers authenticate with Modelport API keys checked by the Lambda REQUEST authorizer "
        "(DESIGN §4: roles, model patterns, expiry, revocation), not with Cognito user pools.",
    )
    acknowledge(
        api.api, "APIG3",
        "No WAF web ACL by default: the API is key-authenticated and throttled per stage; a web "
        "ACL is an account-level choice with its own cost, to associate with the stage if wanted.",
    )
    acknowledge(
        api.api, "IAM4",
        "API Gateway's account-level CloudWatch role needs the AWS-managed push-to-logs policy "
        "to deliver the access logs.",
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
    )

    # --- the web console ----------------------------------------------------------------------
    if api.console is not None:
        console = api.console
        acknowledge(
            console.distribution, "CFR4",
            "The console is served on the distribution's own *.cloudfront.net name, whose default "
            "certificate CloudFront pins to its TLSv1 policy; a custom domain with an ACM certificate "
            "is what allows TLSv1.2_2021, and is the stage owner's choice.",
        )
        acknowledge(
            console.distribution, "CFR1",
            "No geo restriction: the console is a static page; everything it shows comes from the "
            "key-authenticated API.",
        )
        acknowledge(
            console.distribution, "CFR2",
            "No WAF web ACL by default (as for the API): the files are public static assets and the "
            "data behind them needs an API key; a web ACL is an account-level choice with its own cost.",
        )
        # CDK's BucketDeployment runs one handler of its own (a singleton Lambda) that copies the
        # build from the CDK asset bucket into the console bucket and invalidates the cache.
        uploader = console.deployment.handler_role.node.scope
        acknowledge(uploader, "L1", "CDK's BucketDeployment handler: its runtime is chosen by the CDK release.")
        acknowledge(
            uploader, "IAM4", "CDK's BucketDeployment handler runs with the AWS-managed basic execution policy.",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        )
        acknowledge(
            uploader, "IAM5",
            "CDK's BucketDeployment grants: read the build's asset in the CDK asset bucket, replace "
            "the objects of the console bucket (and nothing else), and create/read CloudFront "
            "invalidations, which take no resource ARN.",
            "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
            "Action::s3:DeleteObject*", f"Resource::arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}/*",
            f"Resource::<{api.resolve(console.bucket.node.default_child.logical_id)}.Arn>/*", "Resource::*",
        )  # fmt: skip

    # --- data -------------------------------------------------------------------------------
    acknowledge(
        data, "IAM4",
        "CDK's own BucketNotificationsHandler (it configures the datasets and captures buckets' "
        "S3 → SQS notifications) runs with the AWS-managed basic execution policy.",
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    )
    return done

