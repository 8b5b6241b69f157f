"""Endpoint settings shared by the deploy workflow, the CDK `ModelEndpoint` construct and the CLI.

One pydantic model describes how a model version is served: instance type and count,
autoscaling bounds, the blue/green traffic strategy and the batching knobs passed to the
container. It renders the SageMaker request fragments itself so that the workflow
(boto3 / Step Functions) and the CDK construct (CloudFormation) cannot drift apart.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Instance families with NVIDIA GPUs. Inferentia/Trainium (inf*, trn*) are not CUDA.
GPU_FAMILIES = ("ml.g4dn", "ml.g5", "ml.g6", "ml.g6e", "ml.p3", "ml.p4d", "ml.p4de", "ml.p5")

_ENDPOINT_NAME_MAX = 63
_STRATEGY_RE = re.compile(
    r"^(?P<type>all_at_once|canary|linear)"
    r"(?::(?P<pct>\d{1,3})%?)?(?::(?P<wait>\d+)(?P<unit>[sm]?))?$"
)


def is_gpu_instance(instance_type: str) -> bool:
    """True when the SageMaker instance type carries an NVIDIA GPU."""
    family = instance_type.rsplit(".", 1)[0]
    return family in GPU_FAMILIES


class TrafficStrategy(BaseModel):
    """Blue/green traffic shifting, as SageMaker's `TrafficRoutingConfiguration`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    #: canary: share of capacity that gets traffic first; linear: share added per step.
    percent: int | None = Field(default=None, ge=1, le=99)
    #: seconds to bake between shifts (and after the last shift, before blue is removed).
    wait_seconds: int = Field(default=300, ge=0, le=3600)

    @model_validator(mode="after")
    def _percent_matches_type(self) -> TrafficStrategy:
        if self.type == "all_at_once" and self.percent is not None:
            raise ValueError("all_at_once takes no percent")
        if self.type != "all_at_once" and self.percent is None:
            raise ValueError(f"{self.type} needs a percent, e.g. {self.type}:10%:60s")
        return self

    @classmethod
    def parse(cls, text: str) -> TrafficStrategy:
        """Parse the CLI form: `all_at_once`, `canary:10%:60s`, `linear:20%:2m`."""
        match = _STRATEGY_RE.match(text.strip().lower())
        if not match:
            raise ValueError(
                f"bad strategy {text!r}: use all_at_once, canary:<pct>%:<wait>s or linear:<pct>%:<wait>s"
            )
        wait = match["wait"]
        seconds = int(wait) * (60 if match["unit"] == "m" else 1) if wait else 300
        pct = int(match["pct"]) if match["pct"] else None
        return cls(type=match["type"], percent=pct, wait_seconds=seconds)

    def traffic_routing(self) -> dict:
        """SageMaker `BlueGreenUpdatePolicy.TrafficRoutingConfiguration`."""
        wait = self.wait_seconds
        if self.type == "canary":
            return {
                "Type": "CANARY",
                "WaitIntervalInSeconds": wait,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": self.percent},
            }
        if self.type == "linear":
            return {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": wait,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": self.percent},
            }
        return {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": wait}


#: `DataCaptureConfig.CaptureContentTypeHeader` of every endpoint (deploy workflow and CDK):
#: these bodies are captured as text (encoding CSV / JSON), anything else base64. Without
#: the header SageMaker base64-encodes everything, which the drift job would have to undo.
CAPTURED_AS_TEXT = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


class EndpointSettings(BaseModel):
    """How one model version is served. Shared by the deploy workflow and `ModelEndpoint`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_type: str = Field(default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    min_instances: int = Field(default=1, ge=1, le=100)
    max_instances: int = Field(default=1, ge=1, le=100)
    #: target of the `SageMakerVariantInvocationsPerInstance` tracking policy (per minute).
    target_invocations_per_instance: int = Field(default=1000, ge=1)
    strategy: TrafficStrategy = TrafficStrategy()
    #: adaptive batching inside the container (1 turns batching off). The defaults are the
    #: container's own: the batcher never waits on a timer for a lone request, so it costs
    #: nothing at low load and multiplies throughput under concurrency (benchmarks/README).
    #: Set 1 for a custom predictor whose rows are not independent.
    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_latency_ms: float = Field(default=5.0, gt=0, le=1000)
    #: share of requests captured to the captures bucket.
    data_capture_percent: int = Field(default=100, ge=0, le=100)
    #: the auto-rollback latency alarm fires above this p99 model latency.
    latency_alarm_ms: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> EndpointSettings:
        if self.min_instances > self.max_instances:
            raise ValueError("min_instances must not exceed max_instances")
        if not self.min_instances <= self.initial_instance_count <= self.max_instances:
            raise ValueError("initial_instance_count must lie within [min_instances, max_instances]")
        return self

    @property
    def gpu(self) -> bool:
        return is_gpu_instance(self.instance_type)

    def container_environment(self) -> dict[str, str]:
        """Environment for Modelport's serving container."""
        return {
            "MODELPORT_MAX_BATCH_SIZE": str(self.max_batch_size),
            "MODELPORT_MAX_LATENCY_MS": str(self.max_latency_ms),
        }

    def deployment_config(self, alarm_names: list[str]) -> dict:
        """SageMaker `DeploymentConfig` for a blue/green `UpdateEndpoint`."""
        config: dict = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": self.strategy.traffic_routing(),
                "TerminationWaitInSeconds": 0,
            }
        }
        if alarm_names:
            config["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": name} for name in alarm_names]
            }
        return config


def endpoint_name(stage: str, model: str, alias: str) -> str:
    """Stable SageMaker endpoint name for one model alias, within SageMaker's 63 characters."""
    raw = re.sub(r"[^a-zA-Z0-9-]", "-", f"mp-{stage}-{model}-{alias}")
    if len(raw) <= _ENDPOINT_NAME_MAX:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{raw[: _ENDPOINT_NAME_MAX - 9].rstrip('-')}-{digest}"
