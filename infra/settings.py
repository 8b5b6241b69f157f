"""Stage settings: everything that differs between environments, validated before synth.

`infra/app.py` reads them from CDK context and passes them to every stack as constructor
arguments, so environments differ by arguments only. `cdk.json` holds one entry per stage
under `modelport.stages`; `-c stage=<name>` picks one and `-c <field>=<value>` overrides a
field for one run (`-c account=123456789012 -c region=eu-west-1`). A bad value stops the
synth with a message that names the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.core.endpoints import EndpointSettings
from functions.core.stages import FRAMEWORK_IMAGES_REFUSED

#: The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
_INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


class SettingsError(ValueError):
    """Stage settings failed validation; the message names every bad field."""


class AlarmThresholds(BaseModel):
    """When the platform alarms page someone (evaluated over 5-minute periods)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: API Gateway 5XXError count per 5 minutes.
    api_5xx_count: int = Field(default=5, ge=1)
    #: API Gateway 4XXError count per 5 minutes (spikes mean broken clients or probing).
    api_4xx_count: int = Field(default=200, ge=1)
    #: API Gateway p99 Latency in milliseconds.
    api_latency_p99_ms: int = Field(default=3000, ge=1)
    #: Failed, timed-out or aborted workflow executions per 5 minutes.
    workflow_failures: int = Field(default=1, ge=1)
    #: Messages waiting in the dataset-notification dead-letter queue.
    dlq_depth: int = Field(default=1, ge=1)


class ImageSpec(BaseModel):
    """The container a pinned endpoint serves with: Modelport's own image, by digest.

    A pinned endpoint is created in the same deploy as the stage's image repositories, which
    start empty, so a tag would name an image that does not exist yet on a first deploy.
    A digest exists only once the image was pushed (README, "Deploy on AWS"), and it pins
    exactly what serves.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: only Modelport's image (the stage's CPU or GPU repository, picked by instance type).
    framework: str = Field(default="modelport", pattern=r"^[a-z0-9][a-z0-9-]*$")
    #: the pushed image's digest, `sha256:<64 hex>` (`docker push` prints it).
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    version: str | None = None

    @model_validator(mode="after")
    def _modelport_by_digest(self) -> ImageSpec:
        if self.framework != "modelport":
            raise ValueError(f"framework image {self.framework!r}: {FRAMEWORK_IMAGES_REFUSED}")
        if self.version is not None:
            raise ValueError("a pinned endpoint names its image by digest, not by tag (version)")
        return self


class PinnedEndpoint(BaseModel):
    """An endpoint kept in IaC with the `ModelEndpoint` construct, outside the deploy workflow.

    Its capacity is fixed (`min_instances = max_instances`): CloudFormation cannot change
    the instance type of a variant that has a scalable target (SageMaker refuses the update
    until the target is deregistered, and CloudFormation deregisters only after it), so an
    autoscaled endpoint is deployed by the deploy workflow, which lifts autoscaling around
    such a change. Its image is named by digest (`ImageSpec`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    alias: str = Field(default="pinned", pattern=r"^[a-z0-9][a-z0-9-]{0,19}$")
    #: key of the `model.tar.gz` in the artifacts bucket (the SageMaker role reads `models/*`).
    artifact_key: str = Field(pattern=r"^models/\S+\.tar\.gz$")
    endpoint: EndpointSettings = EndpointSettings()
    image: ImageSpec = ImageSpec()

    @model_validator(mode="after")
    def _deployable_by_cloudformation(self) -> PinnedEndpoint:
        name = f"pinned endpoint {self.model}-{self.alias}"
        if self.image.digest is None:
            raise ValueError(
                f"{name}: name Modelport's image by digest (image: {{\"digest\": \"sha256:...\"}}). The stage's "
                "repositories start empty, so a first deploy cannot serve a tag: deploy the stage without pinned "
                "endpoints, push the images (README, 'Deploy on AWS'), then pin the pushed image's digest"
            )
        settings = self.endpoint
        if not settings.min_instances == settings.max_instances == settings.initial_instance_count:
            raise ValueError(
                f"{name}: a pinned endpoint has a fixed instance count (initial_instance_count = min_instances = "
                "max_instances): CloudFormation cannot change the instance type of an autoscaled variant, since "
                "SageMaker refuses that update until the scalable target is deregistered. Deploy an autoscaled "
                "endpoint with the deploy workflow (POST /v1/models/{name}/deployments), which lifts autoscaling "
                "around an instance type change"
            )
        return self


class StageSettings(BaseModel):
    """One environment of the platform (e.g. `dev`, `prod`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: stage name: prefixes stack names and SageMaker endpoint names (`mp-<name>-...`).
    #: No hyphens, so that the `mp-<name>-` IAM prefix of one stage never covers another.
    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,11}$")
    #: AWS account id; left out, the stacks are account-agnostic.
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
    #: production stages get deletion protection and keep their data on stack removal.
    production: bool = False
    #: the web console: S3 + CloudFront, and CORS on the API for its origin only.
    console: bool = True
    #: instance types that deployments may ask for (the deploy workflow refuses others).
    allowed_instance_types: tuple[str, ...] = Field(
        default=("ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.g5.xlarge"), min_length=1
    )
    #: how long API Gateway caches an authorizer answer (0 turns the cache off).
    authorizer_cache_ttl_seconds: int = Field(default=300, ge=0, le=3600)
    #: API Gateway stage throttling: steady-state requests per second and burst.
    throttle_rate_limit: float = Field(default=100.0, gt=0, le=10_000)
    throttle_burst_limit: int = Field(default=200, ge=1, le=5_000)
    alarms: AlarmThresholds = AlarmThresholds()
    #: retention of every log group the platform creates.
    log_retention_days: int = 90
    #: tag of Modelport's CPU and GPU images (repositories have immutable tags) that the
    #: deploy and retrain workflows use.
    image_tag: str = Field(default="0.1.0", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    #: addresses subscribed to the alarm topic (confirmation e-mail on first deploy).
    alarm_emails: tuple[str, ...] = ()
    pinned_endpoints: tuple[PinnedEndpoint, ...] = ()
    #: refused while AWS's framework images are (FRAMEWORK_IMAGES_REFUSED); kept so that a
    #: stage that lists some is told why instead of "extra inputs are not permitted".
    framework_images: tuple[dict[str, Any], ...] = ()
    #: API Gateway's CloudWatch Logs role is one setting per account and region, shared by
    #: every API there (`AWS::ApiGateway::Account`): exactly one stage of an account owns it
    #: (`own`: creates the role and the setting, kept when the stage is destroyed), the
    #: others use it (`shared`: deploy the owner first).
    api_gateway_cloudwatch_role: Literal["own", "shared"] = "own"

    @field_validator("framework_images")
    @classmethod
    def _no_framework_images(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        if value:
            raise ValueError(FRAMEWORK_IMAGES_REFUSED)
        return value

    @field_validator("allowed_instance_types", mode="before")
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("allowed_instance_types")
    @classmethod
    def _instance_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [item for item in value if not re.match(_INSTANCE_TYPE, item)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {', '.join(bad)}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [item for item in value if "@" not in item.strip("@")]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _pinned_within_allowed(self) -> StageSettings:
        for pinned in self.pinned_endpoints:
            if pinned.endpoint.instance_type not in self.allowed_instance_types:
                raise ValueError(
                    f"pinned endpoint {pinned.model}-{pinned.alias}: instance type "
                    f"{pinned.endpoint.instance_type} is not in allowed_instance_types"
                )
        return self

    @property
    def endpoint_prefix(self) -> str:
        """Every SageMaker endpoint of this stage starts with this (see `endpoint_name`)."""
        return f"mp-{self.name}-"

    @property
    def stack_prefix(self) -> str:
        return f"Modelport-{self.name}"


_TEXT = (str, str | None)


def _decode(raw: Any) -> Any:
    """CLI context values arrive as strings; JSON ones (numbers, lists, objects) are decoded."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def load_stage_settings(get_context: Callable[[str], Any]) -> StageSettings:
    """Build the selected stage's settings from CDK context (`app.node.try_get_context`).

    Raises `SettingsError` naming each bad field, e.g. `throttle_rate_limit: Input should be
    greater than 0`.
    """
    stage = get_context("stage") or "dev"
    catalogue = get_context("modelport") or {}
    stages: Mapping[str, Any] = catalogue.get("stages", {}) if isinstance(catalogue, Mapping) else {}
    if not isinstance(stage, str) or (stages and stage not in stages):
        known = ", ".join(sorted(stages)) or "none"
        raise SettingsError(f"unknown stage {stage!r} (cdk.json modelport.stages has: {known})")
    values: dict[str, Any] = {"name": stage, **stages.get(stage, {})}
    for field, info in StageSettings.model_fields.items():
        override = get_context(field) if field != "name" else None
        if override is not None:
            # string fields keep the CLI text as is (an account id must not become a number)
            values[field] = override if info.annotation in _TEXT else _decode(override)
    try:
        return StageSettings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in error.errors()
        )
        raise SettingsError(f"invalid settings for stage {stage!r}: {problems}") from None


__all__ = [
    "LOG_RETENTION_DAYS",
    "AlarmThresholds",
    "ImageSpec",
    "PinnedEndpoint",
    "SettingsError",
    "StageSettings",
    "load_stage_settings",
]
