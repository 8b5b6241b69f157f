"""Endpoint settings shared by the deploy workflow, the CDK `ModelEndpoint` construct and the CLI.

One pydantic model describes how a model version is served: instance type and count,
autoscaling bounds, the blue/green traffic strategy and the batching knobs passed to the
container. It renders the SageMaker request fragments itself so that the workflow
(boto3 / Step Functions) and the CDK construct (CloudFormation) cannot drift apart.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.core.errors import EndpointNotOwned
from functions.core.mutations import Put
from functions.core.records import ItemKey, Record

if TYPE_CHECKING:
    from functions.core.ports import Deps

#: Instance families with NVIDIA GPUs. Inferentia/Trainium (inf*, trn*) are not CUDA.
GPU_FAMILIES = ("ml.g4dn", "ml.g5", "ml.g6", "ml.g6e", "ml.p3", "ml.p4d", "ml.p4de", "ml.p5")

_ENDPOINT_NAME_MAX = 63
#: SageMaker's limits on a blue/green update (API_TrafficRoutingConfig.html,
#: API_BlueGreenUpdatePolicy.html): CanarySize ≤ 50 % of the fleet, LinearStepSize 10–50 %,
#: and the whole update within MaximumExecutionTimeoutInSeconds (600–28,800 s).
CANARY_MAX_PERCENT = 50
LINEAR_PERCENT = (10, 50)
UPDATE_TIMEOUT_RANGE_S = (600, 28_800)
#: time allowed for the new fleet's instances to come up, on top of the strategy's baking.
PROVISIONING_ALLOWANCE_S = 3600
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
        if self.type == "canary" and self.percent > CANARY_MAX_PERCENT:
            raise ValueError(f"a canary is at most 50% of the fleet (SageMaker's CanarySize), not {self.percent}%")
        low, high = LINEAR_PERCENT
        if self.type == "linear" and not low <= self.percent <= high:
            raise ValueError(f"a linear step is 10-50% of the fleet (SageMaker's LinearStepSize), not {self.percent}%")
        limit = UPDATE_TIMEOUT_RANGE_S[1] - PROVISIONING_ALLOWANCE_S
        if self.bake_seconds > limit:
            raise ValueError(
                f"this strategy bakes for {self.bake_seconds} s; a blue/green update may take at most 28800 s "
                f"(SageMaker's MaximumExecutionTimeoutInSeconds), {PROVISIONING_ALLOWANCE_S} s of it to start the "
                f"new fleet: bake at most {limit} s in all (fewer steps or a shorter wait)"
            )
        return self

    @property
    def shifts(self) -> int:
        """Traffic shifts, each followed by a bake of `wait_seconds`."""
        if self.type == "canary":
            return 2
        if self.type == "linear":
            return math.ceil(100 / (self.percent or 100))
        return 1

    @property
    def bake_seconds(self) -> int:
        """Upper bound of the time SageMaker spends shifting traffic and baking."""
        return self.shifts * self.wait_seconds

    @property
    def update_timeout_seconds(self) -> int:
        """`MaximumExecutionTimeoutInSeconds`: the bake and the new fleet's start, within SageMaker's range."""
        low, high = UPDATE_TIMEOUT_RANGE_S
        return min(high, max(low, self.bake_seconds + PROVISIONING_ALLOWANCE_S))

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
    #: the auto-rollback error alarm fires above this share of 5xx answers in a minute...
    error_alarm_rate: float = Field(default=0.05, gt=0, lt=1)
    #: ...with at least this many invocations in it (both alarms): one failure is no rate.
    alarm_min_invocations: int = Field(default=20, ge=1, le=100_000)

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
                "MaximumExecutionTimeoutInSeconds": self.strategy.update_timeout_seconds,
            }
        }
        if alarm_names:
            config["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": name} for name in alarm_names]
            }
        return config


#: hex digits of the (stage, model, alias) hash in an endpoint name: 64 bits, so nobody can
#: choose a model and alias whose name collides with another's.
_NAME_HASH_HEX = 16


def endpoint_name(stage: str, model: str, alias: str) -> str:
    """The SageMaker endpoint name of one model alias: `mp-<stage>-<model>-<alias>-<hash>`.

    Model names and aliases may both contain `-`, so the readable part alone is ambiguous
    (`churn` + `x-production` reads like `churn-x` + `production`); the 16-hex-digit hash of
    the (stage, model, alias) triple makes the name unambiguous. The readable part is
    shortened to keep the name within SageMaker's 63 characters; the `mp-<stage>-` prefix
    (stages have no `-`) is what IAM scopes a stage's endpoints by. Ownership of a name is
    recorded too (`EndpointClaim`), so even a collision could never update another's endpoint.
    """
    digest = hashlib.sha256(f"{stage}\n{model}\n{alias}".encode()).hexdigest()[:_NAME_HASH_HEX]
    prefix = f"mp-{stage}-"
    room = _ENDPOINT_NAME_MAX - len(prefix) - 1 - _NAME_HASH_HEX
    readable = re.sub(r"[^a-zA-Z0-9-]", "-", f"{model}-{alias}")[:room].strip("-")
    return f"{prefix}{readable}-{digest}" if readable else f"{prefix}{digest}"


# --- ownership: who an endpoint name belongs to ---------------------------------------------

ENDPOINT_PREFIX = "ENDPOINT#"


class EndpointClaim(Record):
    """`ENDPOINT#<name>`/`OWNER`: the (model, alias) an endpoint name belongs to.

    Written once, conditionally (absent), in the transaction that starts the first
    deployment to the name; never moved to another owner. The deploy workflow checks it
    before it creates or updates the endpoint.
    """

    KIND: ClassVar[str] = "endpoint_claim"

    endpoint: str
    model: str
    alias: str
    stage: str
    claimed_by: str
    claimed_at: datetime

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.endpoint)

    @staticmethod
    def key_for(endpoint: str) -> ItemKey:
        return ItemKey(f"{ENDPOINT_PREFIX}{endpoint}", "OWNER")

    @classmethod
    def new(cls, endpoint: str, model: str, alias: str, *, stage: str, by: str, at: datetime) -> EndpointClaim:
        return cls(endpoint=endpoint, model=model, alias=alias, stage=stage, claimed_by=by, claimed_at=at)

    def owned_by(self, model: str, alias: str) -> bool:
        return (self.model, self.alias) == (model, alias)


def _not_owned(endpoint: str, claim: EndpointClaim | None) -> EndpointNotOwned:
    owner = f"{claim.model}:{claim.alias}" if claim else "another model alias"
    return EndpointNotOwned(f"endpoint {endpoint} belongs to {owner}; it is never updated for another")


def claim_writes(
    deps: Deps, endpoint: str, model: str, alias: str, *, stage: str, by: str
) -> list[Put]:
    """The write that claims `endpoint` for (model, alias) in the caller's transaction.

    Empty when the claim is already this (model, alias)'s; raises EndpointNotOwned when it
    is another's. A first claim is conditioned on absence, so of two racing first claims
    one transaction fails.
    """
    claim = deps.store.get(EndpointClaim.key_for(endpoint), EndpointClaim, consistent=True)
    if claim is not None:
        if not claim.owned_by(model, alias):
            raise _not_owned(endpoint, claim)
        return []
    record = EndpointClaim.new(endpoint, model, alias, stage=stage, by=by, at=deps.clock())
    return [Put(record, if_absent=_not_owned(endpoint, None))]


def require_owner(deps: Deps, endpoint: str, model: str, alias: str) -> EndpointClaim:
    """The claim of `endpoint`, which must be (model, alias)'s; else EndpointNotOwned."""
    claim = deps.store.get(EndpointClaim.key_for(endpoint), EndpointClaim, consistent=True)
    if claim is None or not claim.owned_by(model, alias):
        raise _not_owned(endpoint, claim)
    return claim
