"""Serving stack: SageMaker execution role, image repositories and endpoints pinned in IaC."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from functions.core import execution_scope
from functions.core.endpoints import endpoint_name
from infra.constructs.grants import grant_key, grant_list, grant_objects
from infra.constructs.model_endpoint import ModelEndpoint
from infra.settings import PinnedEndpoint, StageSettings
from infra.stacks.data import DataStack


class ServingStack(Stack):
    """Exposes `sagemaker_role` (pinned endpoints), `drift_job_role` (the drift job: platform
    code only, reading captures and one model artifact), `execution_boundary` (the boundary of the
    per-model execution roles), `cpu_repository`, `gpu_repository`, `cpu_image_uri`,
    `gpu_image_uri` and `endpoints` (the pinned `ModelEndpoint`s, whose rollback alarms
    notify the stage's alarm topic)."""

    def __init__(
        self, scope: Construct, id: str, *, settings: StageSettings, data: DataStack, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.settings = settings
        self.data = data
        removal = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY

        self.cpu_repository = self._repository("CpuImages", removal)
        self.gpu_repository = self._repository("GpuImages", removal)
        self.cpu_image_uri = self.cpu_repository.repository_uri_for_tag(settings.image_tag)
        self.gpu_image_uri = self.gpu_repository.repository_uri_for_tag(settings.image_tag)

        self.sagemaker_role = iam.Role(
            self,
            "SageMakerExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description="Modelport endpoints and training jobs: read models/data, write captures/output",
        )
        self._grant_sagemaker_role()
        self.drift_job_role = iam.Role(
            self,
            "DriftJobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description="Modelport drift job (a processing job on Modelport's image): read captures, write reports",
        )
        self._grant_drift_job_role()
        self.execution_boundary = self._execution_boundary()

        self.endpoints = [self._pinned(pinned) for pinned in settings.pinned_endpoints]

    def _execution_boundary(self) -> iam.ManagedPolicy:
        """The permissions boundary of every per-model execution role the workflows create
        (`functions.core.execution_scope`): the same envelope as the shared role."""
        data = self.data
        repositories = (self.cpu_repository.repository_arn, self.gpu_repository.repository_arn)
        targets = execution_scope.Targets(
            partition=self.partition, region=self.region, account=self.account, stage=self.settings.name,
            artifacts_bucket=data.artifacts_bucket.bucket_name, datasets_bucket=data.datasets_bucket.bucket_name,
            captures_bucket=data.captures_bucket.bucket_name, key_arn=data.key.key_arn, repositories=repositories,
        )  # fmt: skip
        return iam.ManagedPolicy(
            self, "ModelExecutionBoundary",
            description=f"Modelport {self.settings.name}: the most any per-model SageMaker execution role may do",
            document=iam.PolicyDocument.from_json(execution_scope.boundary_policy(targets)),
        )  # fmt: skip

    def _repository(self, id: str, removal: RemovalPolicy) -> ecr.Repository:
        return ecr.Repository(
            self,
            id,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="keep the 30 most recent images",
                    max_image_count=30,
                    rule_priority=1,
                )
            ],
            removal_policy=removal,
            empty_on_delete=False,
        )

    def _grant_drift_job_role(self) -> None:
        """SageMaker downloads the drift job's inputs (the window's capture files, its config
        and labels under monitoring/, listed as S3Prefix inputs; the version's artifact) and
        uploads its report under monitoring/ with this role; the job runs Modelport's image."""
        role, data = self.drift_job_role, self.data
        grant_objects(role, data.captures_bucket, "*", "s3:GetObject")
        grant_list(role, data.captures_bucket, "monitoring/")
        grant_objects(role, data.captures_bucket, "monitoring/*", "s3:PutObject")
        grant_objects(role, data.artifacts_bucket, "models/*", "s3:GetObject")
        grant_key(role, data.key, write=True)
        self.cpu_repository.grant_pull(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ProcessingJobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.format_arn(service="logs", resource="log-group",
                                           resource_name="/aws/sagemaker/ProcessingJobs*",
                                           arn_format=ArnFormat.COLON_RESOURCE_NAME)],
            )
        )

    def _grant_sagemaker_role(self) -> None:
        role, data = self.sagemaker_role, self.data
        # endpoints read model artifacts; training jobs read datasets and write their output
        grant_objects(role, data.artifacts_bucket, "models/*", "s3:GetObject")
        grant_objects(role, data.artifacts_bucket, "training/*", "s3:GetObject", "s3:PutObject")
        grant_objects(role, data.datasets_bucket, "datasets/*", "s3:GetObject")
        grant_list(role, data.datasets_bucket, "datasets/")
        grant_objects(role, data.captures_bucket, "*", "s3:PutObject")
        grant_key(role, data.key, write=True)
        self.cpu_repository.grant_pull(role)
        self.gpu_repository.grant_pull(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ContainerLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[
                    self.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        # deployment guardrails read the auto-rollback alarms with this role
        # (deployment-guardrails-configuration.html); they are named after the endpoint
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[self.format_arn(service="cloudwatch", resource="alarm",
                                           resource_name=f"{self.settings.endpoint_prefix}*",
                                           arn_format=ArnFormat.COLON_RESOURCE_NAME)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ContainerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            )
        )

    def _pinned(self, pinned: PinnedEndpoint) -> ModelEndpoint:
        settings, data = pinned.endpoint, self.data
        repository = self.gpu_repository if settings.gpu else self.cpu_repository
        # by digest: the repositories this stack creates start empty (PinnedEndpoint)
        image_uri = repository.repository_uri_for_digest(pinned.image.digest)
        name = endpoint_name(self.settings.name, pinned.model, pinned.alias)
        return ModelEndpoint(
            self,
            f"Pinned-{pinned.model}-{pinned.alias}",
            endpoint_name=name,
            settings=settings,
            image_uri=image_uri,
            model_data_url=data.artifacts_bucket.s3_url_for_object(pinned.artifact_key),
            execution_role=self.sagemaker_role,
            capture_s3_uri=data.captures_bucket.s3_url_for_object(f"captures/{name}"),
            kms_key=data.key,
            notify=(data.alarm_topic.topic_arn,),
        )
