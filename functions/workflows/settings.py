"""Settings of the deployment and retraining Lambdas: one pydantic-settings class per deployable.

Every class reads `MODELPORT_*` (docs/contracts.md, "Settings") on top of the control
plane's (`ControlPlaneSettings`: stage, tables, artifacts bucket, event bus, ...).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from functions.adapters.settings import ControlPlaneSettings
from functions.core.stages import ImageCatalog, StageRules

_INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


class _StageImages(ControlPlaneSettings):
    """What a stage allows deployments (and training jobs) to use."""

    #: instance types deployments may ask for: comma list (a JSON list is accepted too).
    allowed_instance_types: Annotated[tuple[str, ...], NoDecode] = Field(min_length=1)
    #: Modelport's serving/training images; a deployment needing one that is unset is refused.
    cpu_image_uri: str | None = None
    gpu_image_uri: str | None = None
    #: seconds between the workflows' Describe polls (Wait states); local mode uses less.
    workflow_poll_seconds: int = Field(default=30, ge=0, le=3600)
    # --- execution roles (functions.core.execution_scope) ---------------------------------
    #: the stage's permissions boundary for per-model execution roles; set (the CDK app and
    #: local mode do), every model runs under a role of its own scoped to its prefixes.
    execution_role_boundary_arn: str | None = None
    #: the shared execution role, used only where per-model roles are not configured.
    sagemaker_role_arn: str | None = None
    datasets_bucket: str | None = None
    captures_bucket: str | None = None
    #: the data KMS key the buckets are encrypted with (None: none to grant).
    data_key_arn: str | None = None
    region: str = Field(default="us-east-1", validation_alias=AliasChoices("MODELPORT_REGION", "AWS_REGION",
                                                                         "AWS_DEFAULT_REGION"))

    @field_validator("allowed_instance_types", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else [i.strip() for i in text.split(",")]
            return tuple(i for i in items if i)
        return value

    @field_validator("allowed_instance_types")
    @classmethod
    def _instance_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [item for item in value if not re.match(_INSTANCE_TYPE, item)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _scope_targets(self) -> _StageImages:
        if self.execution_role_boundary_arn and not (self.datasets_bucket and self.captures_bucket):
            raise ValueError("per-model execution roles need MODELPORT_DATASETS_BUCKET and MODELPORT_CAPTURES_BUCKET")
        return self

    def rules(self) -> StageRules:
        return StageRules(
            stage=self.stage,
            allowed_instance_types=self.allowed_instance_types,
            images=ImageCatalog(cpu=self.cpu_image_uri, gpu=self.gpu_image_uri),
        )


class DeploymentsSettings(_StageImages):
    """Lambda `deployments` (the API that starts and shows deployments)."""

    deploy_state_machine_arn: str = Field(min_length=1)


class DeployStepsSettings(_StageImages):
    """Lambda `deploy steps` (the API whose authorizer cache it flushes: `rest_api_id`,
    `api_stage_name`, from the control plane's settings; unset, nothing is flushed)."""

    #: the stage's alarm topic: the rollback alarms of `production` endpoints notify it
    #: (unset, as in local mode, they notify nobody).
    alarm_topic_arn: str | None = Field(default=None, pattern=r"^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
    #: the drift-monitoring schedule a deployed alias gets (all three, or none is put).
    monitor_state_machine_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_group: str | None = None


class RetrainingSettings(ControlPlaneSettings):
    """Lambda `retraining` (dataset uploads, retrain records)."""

    datasets_bucket: str = Field(min_length=1)


class RetrainStepsSettings(_StageImages):
    """Lambda `retrain steps`."""

    #: needed only by models whose policy deploys retrained versions to `staging`.
    deploy_state_machine_arn: str | None = None
    #: stop a training job that runs longer than this.
    training_max_runtime_seconds: int = Field(default=24 * 3600, ge=60, le=28 * 24 * 3600)
    training_volume_gb: int = Field(default=30, ge=1, le=16384)


class TriggerSettings(ControlPlaneSettings):
    """Lambda `retrain trigger` (SQS batches of S3 notifications)."""

    datasets_bucket: str = Field(min_length=1)
    retrain_state_machine_arn: str = Field(min_length=1)
    workflow_poll_seconds: int = Field(default=30, ge=0, le=3600)
