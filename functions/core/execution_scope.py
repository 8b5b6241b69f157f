"""Per-model SageMaker execution roles: what a model's endpoints and training jobs may reach.

SageMaker runs a model's containers (and the model's own code in them) with the execution
role of its `CreateModel` / `CreateTrainingJob`. One role shared by every model let any
model's code read every model's artifacts and every dataset. Each model now gets a role
of its own (`role_name`), under the stage's role path, whose policy (`model_policy`)
reaches only that model's prefixes:

* artifacts `models/<name>/*` (read) and `training/<name>/*` (read, write: training output);
* datasets under the model's dataset prefix (read, list), `datasets/<name>/` by default;
* captures `<endpoint>/*` (write) of the model's own endpoints (the data-capture
  destination is `s3://<captures>/<endpoint>`), and their rollback alarms (read);
* pulls of the one image it runs; its logs and metrics.

Every such role carries the stage's permissions boundary (`boundary_policy`), the same
envelope the shared role had, so a role the workflows create can never exceed it; and the
workflows may create and change only roles under the stage's path that carry it.

A role per model rather than a session policy per deployment: SageMaker assumes the
execution role itself and takes no session policy, and one role per model (not per
deployment) stays far below IAM's role quota. Every key prefix ends in `/` and model
names have none, so no model name reaches into another's prefix.

Pure: the documents are plain dicts, built the same way for the CDK app (with tokens for
ARNs), the deploy and retrain steps, and local mode.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

#: IAM role names: at most 64 characters of `[\w+=,.@-]`.
_ROLE_NAME_MAX = 64
_ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                        r"(?P<repository>[^:@]+)")
SAGEMAKER = "sagemaker.amazonaws.com"


def role_path(stage: str) -> str:
    """The IAM path of a stage's per-model roles; the workflows may touch only roles on it."""
    return f"/modelport/{stage}/"


def role_name(stage: str, model: str) -> str:
    """`mp-<stage>-<model>` (stages have no `-`, so the name is unambiguous), hashed if too long."""
    name = f"mp-{stage}-{model}"
    if len(name) <= _ROLE_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: _ROLE_NAME_MAX - 17].rstrip('-')}-{digest}"


def repository_arn(image_uri: str, partition: str = "aws") -> str | None:
    """The ECR repository ARN of an image URI; None for images outside ECR."""
    match = _ECR_IMAGE.match(image_uri)
    if match is None:
        return None
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


@dataclass(frozen=True)
class Targets:
    """Where a stage's data lives (plain ARNs, or CloudFormation tokens in the CDK app)."""

    partition: str
    region: str
    account: str
    stage: str
    artifacts_bucket: str
    datasets_bucket: str
    captures_bucket: str
    #: the data KMS key's ARN; None where buckets are not encrypted with one (local mode).
    key_arn: str | None = None
    #: repositories every model may pull from (the boundary; a role gets its own image's).
    repositories: tuple[str, ...] = field(default_factory=tuple)

    def objects(self, bucket: str, pattern: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}/{pattern}"

    def bucket(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def alarms(self, name_pattern: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{name_pattern}"


def trust_policy(account: str) -> dict:
    """Only SageMaker, on behalf of this account, assumes the roles (confused deputy guard)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Service": SAGEMAKER}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }],
    }  # fmt: skip


def _runtime(t: Targets, repositories: list[str]) -> list[dict]:
    """What every SageMaker container needs: pull its image, write its logs and metrics, and
    use the data key (S3 calls it with the role's rights)."""
    logs = f"arn:{t.partition}:logs:{t.region}:{t.account}:log-group:/aws/sagemaker/*"
    statements = [
        {"Sid": "PullAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "ContainerLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": logs},
        {"Sid": "ContainerMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}}},
    ]  # fmt: skip
    if repositories:
        statements.append({"Sid": "PullImage", "Effect": "Allow",
                           "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                      "ecr:BatchCheckLayerAvailability"],
                           "Resource": sorted(set(repositories))})
    if t.key_arn:
        statements.append({"Sid": "DataKey", "Effect": "Allow",
                           "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": t.key_arn})
    return statements


def model_policy(
    t: Targets, model: str, *, datasets: str, endpoints: tuple[str, ...] = (), image: str | None = None
) -> dict:
    """The inline policy of `model`'s execution role: its own prefixes only.

    `datasets` is the model's dataset prefix (`retraining.dataset_prefix`: under
    `datasets/<model>/`), `endpoints` the endpoint names whose captures it writes, `image`
    the image URI it runs.
    """
    prefix = datasets if datasets.endswith("/") else f"{datasets}/"
    statements = [
        {"Sid": "ModelArtifacts", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": t.objects(t.artifacts_bucket, f"models/{model}/*")},
        {"Sid": "TrainingOutput", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": t.objects(t.artifacts_bucket, f"training/{model}/*")},
        {"Sid": "Datasets", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": t.objects(t.datasets_bucket, f"{prefix}*")},
        {"Sid": "ListDatasets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": t.bucket(t.datasets_bucket),
         "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}},
    ]  # fmt: skip
    if endpoints:
        names = sorted(set(endpoints))
        statements.append({"Sid": "Captures", "Effect": "Allow", "Action": "s3:PutObject",
                           "Resource": [t.objects(t.captures_bucket, f"{e}/*") for e in names]})
        # deployment guardrails read the endpoint's auto-rollback alarms with this role
        statements.append({"Sid": "RollbackAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
                           "Resource": [t.alarms(f"{e}-*") for e in names]})
    repository = repository_arn(image, t.partition) if image else None
    statements += _runtime(t, [repository] if repository else [])
    return {"Version": "2012-10-17", "Statement": statements}


def boundary_policy(t: Targets) -> dict:
    """The stage's permissions boundary: the most any per-model role can ever do (the
    envelope of every model's `model_policy`)."""
    statements = [
        {"Sid": "Artifacts", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": t.objects(t.artifacts_bucket, "models/*")},
        {"Sid": "TrainingOutput", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": t.objects(t.artifacts_bucket, "training/*")},
        {"Sid": "Datasets", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": t.objects(t.datasets_bucket, "datasets/*")},
        {"Sid": "ListDatasets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": t.bucket(t.datasets_bucket),
         "Condition": {"StringLike": {"s3:prefix": ["datasets/", "datasets/*"]}}},
        {"Sid": "Captures", "Effect": "Allow", "Action": "s3:PutObject", "Resource": t.objects(t.captures_bucket, "*")},
        {"Sid": "RollbackAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
         "Resource": t.alarms(f"mp-{t.stage}-*")},
    ]  # fmt: skip
    statements += _runtime(t, list(t.repositories))
    return {"Version": "2012-10-17", "Statement": statements}
