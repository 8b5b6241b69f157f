"""What `GET /v1/models/{name}/monitoring` answers: per alias, the latest run, the history,
and the series a console draws (drift score per feature and the live metric, each an
array of `{time, value}`, oldest first)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from functions.core import access
from functions.core.models import Alias
from functions.core.monitoring import MonitoringRun, recent_runs
from functions.core.monitoring_policy import MonitoringPolicy
from functions.core.ports import Context, Deps
from functions.core.records import ALIAS_PREFIX, model_pk
from functions.core.registry import require_model


class Point(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: datetime
    value: float | None


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: str
    outcome: str | None
    version: str
    window_end: datetime
    rows: int
    drifted_features: list[str]
    live_metric: float | None
    action: str | None


class AliasMonitoring(BaseModel):
    alias: str
    version: str
    endpoint: str | None
    #: how often the drift job runs for this alias (None: on demand only, or not deployed).
    schedule: str | None
    latest: MonitoringRun | None = None
    history: list[RunSummary] = Field(default_factory=list)
    #: feature or output → its drift score (PSI) per run.
    drift: dict[str, list[Point]] = Field(default_factory=dict)
    live_metric: list[Point] = Field(default_factory=list)


class ModelMonitoring(BaseModel):
    model: str
    metric: str
    policy: MonitoringPolicy
    aliases: list[AliasMonitoring]


def status(deps: Deps, ctx: Context, name: str, *, limit: int = 200) -> ModelMonitoring:
    """Latest run per alias and its history (newest `limit` runs of the model)."""
    access.require(ctx.actor, access.READ, name)
    model = require_model(deps, name)
    aliases = deps.store.query(model_pk(name), Alias, prefix=ALIAS_PREFIX, limit=100).items
    runs = recent_runs(deps, name, limit=limit)
    policy = model.policy.monitoring
    out = []
    for alias in aliases:
        mine = [r for r in runs if r.alias == alias.alias]
        scheduled = policy.schedule if policy.enabled and alias.endpoint else None
        out.append(_alias_view(alias, mine, scheduled))
    for orphan in sorted({r.alias for r in runs} - {a.alias for a in aliases}):
        mine = [r for r in runs if r.alias == orphan]
        out.append(AliasMonitoring(alias=orphan, version=mine[0].version, endpoint=None, schedule=None,
                                   latest=mine[0], history=[_summary(r) for r in mine]))
    return ModelMonitoring(model=name, metric=model.policy.metric, policy=policy, aliases=out)


def _alias_view(alias: Alias, runs: list[MonitoringRun], schedule: str | None) -> AliasMonitoring:
    drift: dict[str, list[Point]] = {}
    live: list[Point] = []
    for run in reversed(runs):  # oldest first
        if run.outcome is None:
            continue
        for feature, score in run.scores.items():
            drift.setdefault(feature, []).append(Point(time=run.window_end, value=score))
        if run.live_metric is not None and run.live_metric.value is not None:
            live.append(Point(time=run.window_end, value=run.live_metric.value))
    return AliasMonitoring(alias=alias.alias, version=alias.version, endpoint=alias.endpoint, schedule=schedule,
                           latest=runs[0] if runs else None, history=[_summary(r) for r in runs], drift=drift,
                           live_metric=live)


def _summary(run: MonitoringRun) -> RunSummary:
    return RunSummary(
        id=run.id, status=run.status.value, outcome=run.outcome.value if run.outcome else None, version=run.version,
        window_end=run.window_end, rows=run.rows, drifted_features=[*run.drifted_features, *run.drifted_outputs],
        live_metric=run.live_metric.value if run.live_metric else None, action=run.action,
    )  # fmt: skip
