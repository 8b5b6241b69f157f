"""A model's monitoring policy (`ModelPolicy.monitoring`): when the drift job runs, what
counts as drift, and what happens then. Plain pydantic, as the rest of the policy."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: EventBridge Scheduler rate expressions: `rate(<value> minute|minutes|hour|hours|day|days)`.
RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class DriftAction(StrEnum):
    """What a drifted run does beyond recording, metrics and the `Model Drifted` event."""

    alert = "alert"
    #: start the retrain workflow; the new version still goes through the model's approval policy.
    retrain = "retrain"


class RetrainData(StrEnum):
    """What a drift-started retrain trains on."""

    #: `retrain_dataset` (a key under the model's dataset prefix), else the production version's dataset.
    policy_dataset = "policy_dataset"
    #: the monitored window's captured requests that have labels (features + the label column).
    captured_window = "captured_window"


class DriftThresholds(_Strict):
    """Effect sizes at which a test calls drift (docs/contracts.md, "Drift statistics")."""

    psi: float = Field(default=0.2, gt=0)
    jensen_shannon: float = Field(default=0.15, gt=0, le=1)
    ks: float = Field(default=0.15, gt=0, le=1)
    #: in training standard deviations.
    wasserstein: float = Field(default=0.4, gt=0)
    cramers_v: float = Field(default=0.1, gt=0, le=1)
    #: share of rows in categories training never had.
    unseen: float = Field(default=0.01, gt=0, le=1)
    #: significance level of the tests with a p-value (KS, chi-squared).
    alpha: float = Field(default=0.01, gt=0, le=0.5)


class MonitoringPolicy(_Strict):
    """Drift monitoring of every deployed alias of the model."""

    enabled: bool = True
    #: how often the drift job runs per deployed alias (EventBridge Scheduler rate); None: on demand only.
    schedule: str | None = Field(default="rate(1 day)", max_length=64)
    #: the captures each run compares with the baseline: the last this many hours.
    window_hours: int = Field(default=24, ge=1, le=720)
    #: fewer captured rows than this: `insufficient_data`, never drift.
    min_samples: int = Field(default=100, ge=1, le=10_000_000)
    thresholds: DriftThresholds = DriftThresholds()
    on_drift: DriftAction = DriftAction.alert
    retrain_data: RetrainData = RetrainData.policy_dataset
    #: datasets-bucket key a drift-started retrain uses (under `datasets/<model>/`; outside the
    #: training spec's `dataset_prefix`, or its upload would start a retrain by itself).
    retrain_dataset: str | None = Field(default=None, max_length=512)
    #: the drift job's instance (a SageMaker Processing job on Modelport's CPU image).
    instance_type: str = Field(default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    #: accept ground-truth labels (`POST .../feedback`) for captured requests: the capture
    #: indexer records each captured inference id (one DynamoDB item per request) so that
    #: labels can be checked against what was captured. Off (the default, as in SageMaker,
    #: where ground truth is set up on purpose): nothing is indexed and feedback answers 409
    #: `GroundTruthDisabled`. Requests captured while it was off take no labels.
    ground_truth: bool = False
    #: how long labels may be posted for a captured request.
    label_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("schedule")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None and not RATE_RE.match(value):
            raise ValueError("schedule must be a rate expression, e.g. 'rate(1 hour)' or 'rate(30 minutes)'")
        if value is not None and schedule_seconds(value) < 300:
            raise ValueError("schedule must be at least 'rate(5 minutes)'")
        return value

    def drift_thresholds(self) -> dict[str, float | int]:
        """The drift job's `thresholds` (run.json): these plus `min_samples`."""
        return {**self.thresholds.model_dump(), "min_samples": self.min_samples}


def schedule_seconds(expression: str) -> int:
    """Seconds between runs of a rate expression."""
    found = RATE_RE.match(expression)
    if found is None:
        raise ValueError(f"not a rate expression: {expression!r}")
    value, unit = int(found.group(1)), found.group(2).rstrip("s")
    return value * _UNIT_SECONDS[unit]
