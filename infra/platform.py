"""Build one stage of the platform: the stacks, in dependency order, and the checks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.nag import Acknowledged, acknowledge_findings
from infra.packaging import code_factory
from infra.routes import Route
from infra.settings import StageSettings
from infra.stacks.api import ApiStack
from infra.stacks.data import DataStack
from infra.stacks.observability import ObservabilityStack
from infra.stacks.serving import ServingStack


@dataclass(frozen=True)
class Platform:
    """The stacks of one stage, for callers (tests, outputs) that need to reach into them."""

    data: DataStack
    serving: ServingStack
    api: ApiStack
    observability: ObservabilityStack
    #: the cdk-nag findings acknowledged on this stage, each with its reason
    acknowledgements: tuple[Acknowledged, ...] = ()


def build_platform(
    app: cdk.App,
    settings: StageSettings,
    *,
    bundle: bool = True,
    lambda_python: str | None = None,
    routes: tuple[Route, ...] | None = None,
) -> Platform:
    """Add the stage's stacks to `app`. Settings are the only thing that varies by stage;
    `bundle=False` (tests) ships `functions/` without installing its dependencies;
    `lambda_python` names the CPython 3.12 that precompiles the bundle (found when None)."""
    env = cdk.Environment(account=settings.account, region=settings.region)
    prefix = settings.stack_prefix
    code = code_factory(bundle=bundle, python=lambda_python)
    data = DataStack(app, f"{prefix}-Data", settings=settings, env=env)
    serving = ServingStack(app, f"{prefix}-Serving", settings=settings, data=data, env=env)
    api = ApiStack(
        app, f"{prefix}-Api", settings=settings, data=data, serving=serving, code=code,
        routes=routes, env=env,
    )  # fmt: skip
    observability = ObservabilityStack(
        app, f"{prefix}-Observability", settings=settings, data=data, api=api, env=env
    )
    platform = Platform(data=data, serving=serving, api=api, observability=observability)
    for stack in (data, serving, api, observability):
        cdk.Tags.of(stack).add("modelport:stage", settings.name)
    _outputs(platform)
    # cdk-nag 3.x runs as a policy-validation plugin (Aspects no longer work with it).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return dataclasses.replace(platform, acknowledgements=tuple(acknowledge_findings(platform)))


def _outputs(platform: Platform) -> None:
    """What `modelport admin bootstrap --stack <Api stack>` and the README's deploy section read.

    All on the Api stack, so one `describe_stacks` finds them.
    """
    data, api, serving = platform.data, platform.api, platform.serving
    for name, value in (
        ("Stage", data.settings.name),
        ("ApiUrl", api.api.url),
        ("RestApiId", api.api.rest_api_id),
        ("TableName", data.table.table_name),
        ("AuditTableName", data.audit_table.table_name),
        ("ArtifactsBucketName", data.artifacts_bucket.bucket_name),
        ("DatasetsBucketName", data.datasets_bucket.bucket_name),
        ("CapturesBucketName", data.captures_bucket.bucket_name),
        ("CpuRepositoryUri", serving.cpu_repository.repository_uri),
        ("GpuRepositoryUri", serving.gpu_repository.repository_uri),
        ("SageMakerRoleArn", serving.sagemaker_role.role_arn),
    ):
        cdk.CfnOutput(api, name, value=value)
    if api.console is not None:
        cdk.CfnOutput(api, "ConsoleUrl", value=f"{api.console.origin}/")
