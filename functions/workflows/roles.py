"""The execution role a deployment or training job runs under (`functions.core.execution_scope`).

With the stage's permissions boundary configured, each model gets a role of its own,
created or updated here just before SageMaker is asked to use it; without one (a setup
that predates per-model roles), the shared role.
"""

from __future__ import annotations

from functions.adapters.iam import ExecutionRoles
from functions.adapters.wiring import client
from functions.core import execution_scope
from functions.core.errors import ImageNotAvailable
from functions.core.models import Model
from functions.core.retraining import dataset_prefix
from functions.workflows.settings import _StageImages


def execution_role(settings: _StageImages, model: Model, *, endpoints: tuple[str, ...] = (),
                   image: str | None = None) -> str:
    """The ARN of the role `model`'s containers run under, reaching only its own prefixes."""
    boundary = settings.execution_role_boundary_arn
    if not boundary:
        if not settings.sagemaker_role_arn:
            raise ImageNotAvailable("no SageMaker execution role is configured for this stage "
                                    "(MODELPORT_EXECUTION_ROLE_BOUNDARY_ARN or MODELPORT_SAGEMAKER_ROLE_ARN)")
        return settings.sagemaker_role_arn
    partition, account = boundary.split(":")[1], boundary.split(":")[4]
    targets = execution_scope.Targets(
        partition=partition, region=settings.region, account=account, stage=settings.stage,
        artifacts_bucket=settings.artifacts_bucket, datasets_bucket=settings.datasets_bucket or "",
        captures_bucket=settings.captures_bucket or "", key_arn=settings.data_key_arn,
    )  # fmt: skip
    policy = execution_scope.model_policy(targets, model.name, datasets=dataset_prefix(model),
                                          endpoints=endpoints, image=image)
    roles = ExecutionRoles(client("iam"), path=execution_scope.role_path(settings.stage), boundary_arn=boundary)
    return roles.ensure(execution_scope.role_name(settings.stage, model.name),
                        trust=execution_scope.trust_policy(account), policy=policy,
                        description=f"Modelport {settings.stage}: SageMaker execution role of model {model.name}")
