"""`PlatformFunction`: one Lambda of the platform with its own role and encrypted log group."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.packaging import ARCHITECTURE, RUNTIME
from infra.settings import LOG_RETENTION_DAYS

# RetentionDays members are declared in ascending order, as CloudWatch Logs lists the values.
_RETENTION = dict(zip(LOG_RETENTION_DAYS, [m for m in logs.RetentionDays if m.name != "INFINITE"], strict=True))


def retention(days: int) -> logs.RetentionDays:
    """The `RetentionDays` member for a validated `log_retention_days`."""
    return _RETENTION[days]


class PlatformFunction(Construct):
    """arm64 / python3.12 Lambda running `handler` from the shared code asset.

    The role starts with nothing but writing to its own KMS-encrypted log group and X-Ray;
    the caller grants the rest. Exposes `function`, `role` and `log_group`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: str,
        code: lambda_.Code,
        description: str,
        environment: Mapping[str, str],
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        timeout: Duration | None = None,
        memory_size: int = 512,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole, whose logs rights cover
        # every log group of the account.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (Lambda)",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            description=description,
            role=self.role,
            # pydantic scans every installed distribution's entry points for plugins on first
            # import (~15 ms of cold start); the bundle ships none.
            environment={"PYDANTIC_DISABLE_PLUGINS": "__all__", **environment},
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout or Duration.seconds(29),  # API Gateway's integration limit
            memory_size=memory_size,
        )
