"""Use case: the evidence pack of one version (DESIGN.md §10), for auditors and validators.

One JSON document (`FORMAT`) that holds, for a version: the model's settings, the model
card, the lineage, the metrics and the evaluation against the version it replaced, the
approvals and revalidations, the deployments and production periods, monitoring summaries
where there are any, and the version's audit events, each with its chain proof: the
headers of every event of the model's chain from the first of them to the chain head, so
that anyone can recompute every hash and link offline (`evidence_check.verify_pack`).
Every section is also checked against the audit events that recorded it, so an edited pack
names the section that no longer matches. `evidence_html.render` makes the readable
document from the same JSON.

The pack holds no secrets and no key hashes: keys live on the platform chain, which the
pack never reads, and the builder refuses to emit anything that looks like a token or a
key hash.
"""

from __future__ import annotations

import json
import re
from typing import Any

from functions.core import access
from functions.core.audit import AuditEvent
from functions.core.deployments import DEPLOY_PREFIX, Deployment
from functions.core.errors import ModelNotFound, VersionNotFound
from functions.core.history import all_periods
from functions.core.models import Model, ModelVersion
from functions.core.ports import Context, Deps
from functions.core.records import model_pk
from functions.core.retraining import RETRAIN_PREFIX, Retrain
from functions.core.risk import Signoff
from functions.core.semver import SemVer

FORMAT = "modelport-evidence/1"
#: what a link of the proof keeps of an event: what its hash covers but the chain's name and
#: the previous hash (both implied), its details only through their digest, and the hash.
LINK_FIELDS = ("seq", "actor", "action", "target", "request_id", "time", "digest", "hash")
#: a bearer token, or the name of the attribute holding a key's hash.
_SECRET = re.compile(r"mp_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}|secret_hash")


def _all(deps: Deps, name: str, prefix: str, cls: type) -> list:
    found, cursor = [], None
    while True:
        page = deps.store.query(model_pk(name), cls, prefix=prefix, limit=100, cursor=cursor, consistent=True)
        found.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            return found


def details_of(event: AuditEvent) -> dict[str, Any]:
    try:
        value = json.loads(event.details)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def concerns(event: AuditEvent, name: str, version: str, records: set[str], replaced: str | None) -> bool:
    """Whether an event of the model's chain is part of the version's record."""
    d = details_of(event)
    if event.target == f"{name}@{version}" or event.action.startswith("model."):
        return True  # the version itself, and the model's settings (the policy it was governed by)
    if replaced is not None and event.target == f"{name}@{replaced}" and event.action == "version.publish":
        return True  # what the evaluation compares with
    if event.action == "alias.set":
        return version in (d.get("version"), d.get("previous"))
    if event.action == "deployment.start":
        return d.get("id") in records
    if event.action == "monitoring.start":
        return d.get("run") in records
    return event.target.rsplit("/", 1)[-1] in records and "/" in event.target


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An event as JSON, its time written exactly as its hash covers it (`isoformat`)."""
    time = event.time if isinstance(event.time, str) else event.time.isoformat()
    return {**event.model_dump(mode="json"), "time": time}


def link(event: AuditEvent) -> dict[str, Any]:
    fields = event_json(event)
    return {name: fields[name] for name in LINK_FIELDS}


def build_pack(deps: Deps, ctx: Context, name: str, version: str) -> dict[str, Any]:
    """The evidence pack of `name` `version` as a JSON-ready dict (approvers and admins)."""
    access.require(ctx.actor, access.READ_AUDIT, name, doing="exporting evidence")
    model, head = deps.store.read_head(name, Model.key_for(name), Model)
    if model is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    number = SemVer.parse(version)
    found = deps.store.get(ModelVersion.key_for(name, number), ModelVersion, consistent=True)
    if found is None:
        raise VersionNotFound(f"{name} {number} does not exist")
    v = found.version
    periods = [p for p in all_periods(deps, name) if p.version == v]
    deployments = sorted((d for d in _all(deps, name, DEPLOY_PREFIX, Deployment) if d.version == v),
                         key=lambda d: d.created_at)
    retrains = [r for r in _all(deps, name, RETRAIN_PREFIX, Retrain) if r.new_version == v]
    runs = monitoring_runs(deps, name, v)
    replaced, basis = _replaced(deps, name, found, periods)
    replaced_version = None
    if replaced is not None:
        replaced_version = deps.store.get(ModelVersion.key_for(name, SemVer.parse(replaced)), ModelVersion)
    records = {d.id for d in deployments} | {r.id for r in retrains} | {r["id"] for r in runs}
    events = list(deps.audit.all_events(name))
    if len(events) > head.seq:  # a change committed after the head was read: read the head again
        head = deps.store.read_head(name, Model.key_for(name), Model)[1]
        events = [e for e in events if e.seq <= head.seq]
    mine = [e for e in events if concerns(e, name, v, records, replaced)]
    first = min((e.seq for e in mine), default=head.seq + 1)
    pack = {
        "format": FORMAT,
        "generated_at": deps.clock().isoformat(),
        "generated_by": ctx.actor.label,
        "model": {
            "name": model.name, "framework": model.framework, "status": model.status, "revision": model.revision,
            "settings": {"description": model.description, "owner": model.owner,
                         "policy": model.policy.model_dump(mode="json"),
                         "training": model.training.model_dump(mode="json")},
            "production": model.production.model_dump(mode="json") if model.production else None,
        },
        "version": found.model_dump(mode="json", include={
            "model", "version", "status", "artifact", "framework", "signature", "created_at", "created_by",
            "history"}),
        "card": found.card.model_dump(mode="json"),
        "lineage": found.lineage.model_dump(mode="json"),
        "metrics": found.metrics,
        "evaluation": _evaluation(found, replaced_version, basis, retrains),
        "approvals": [a.model_dump(mode="json") for a in _approvals(found)],
        "revalidations": [r.model_dump(mode="json") for r in found.revalidations],
        "deployments": [d.model_dump(mode="json", include={
            "id", "alias", "endpoint", "version", "status", "step", "previous_version", "source", "requested_by",
            "created_at", "finished_at", "error", "cause", "settings"}) for d in deployments],
        "production_periods": [p.model_dump(mode="json") for p in periods],
        "monitoring": runs,
        "audit": {
            "chain": name,
            "events": [event_json(e) for e in mine],
            "proof": {
                "from_seq": first,
                "prev_hash": next((e.prev_hash for e in events if e.seq == first), head.hash),
                "links": [link(e) for e in events if e.seq >= first],
                "head": {"seq": head.seq, "hash": head.hash},
            },
        },
    }
    text = json.dumps(pack, sort_keys=True, default=str)
    if _SECRET.search(text):  # defence in depth: nothing above reads keys, so this never fires
        raise RuntimeError("the evidence pack would hold a secret; refusing to export it")
    return json.loads(text)


def _approvals(version: ModelVersion) -> list[Signoff]:
    """Who approved the version (from its status history for versions approved before
    approvals were recorded one by one)."""
    if version.approvals:
        return version.approvals
    return [Signoff(by=h.by, at=h.at, comment=h.comment) for h in version.history if h.status == "approved"]


def _replaced(deps: Deps, name: str, version: ModelVersion, periods: list) -> tuple[str | None, str | None]:
    """The version this one replaced: production's before it, else its lineage's parent."""
    production = [p for p in periods if p.alias == "production"]
    if production:
        first = production[0]
        earlier = [p for p in all_periods(deps, name) if p.alias == "production" and p.closed_seq == first.opened_seq]
        if earlier and earlier[0].version != version.version:
            return earlier[0].version, "production"
    if version.lineage.parent_version:
        return version.lineage.parent_version, "lineage"
    return None, None


def compare(metrics: dict[str, float], baseline: dict[str, float]) -> list[dict[str, Any]]:
    """Each metric of the version next to the replaced version's (None where it has none)."""
    rows = []
    for metric in sorted(metrics):
        before = baseline.get(metric)
        rows.append({"metric": metric, "value": metrics[metric], "replaced": before,
                     "delta": None if before is None else metrics[metric] - before})
    return rows


def _evaluation(version: ModelVersion, replaced: ModelVersion | None, basis: str | None,
                retrains: list[Retrain]) -> dict[str, Any]:
    retrain = retrains[0] if retrains else None
    return {
        "replaced_version": replaced.version if replaced else None,
        "basis": basis,
        "replaced_metrics": replaced.metrics if replaced else {},
        "comparison": compare(version.metrics, replaced.metrics if replaced else {}),
        "retrain": None if retrain is None else {
            "id": retrain.id, "training_job": retrain.training_job, "dataset": retrain.dataset.uri,
            "evaluation": retrain.evaluation.model_dump(mode="json") if retrain.evaluation else None,
        },
    }


def monitoring_runs(deps: Deps, name: str, version: str) -> list[dict[str, Any]]:
    """Summaries of the drift monitoring runs of this version, where monitoring exists."""
    try:
        from functions.core.monitoring import MONITOR_PREFIX, MonitoringRun
    except ImportError:  # a platform without drift monitoring: the section is empty
        return []
    runs = [r for r in _all(deps, name, MONITOR_PREFIX, MonitoringRun) if r.version == version]
    keep = ("id", "alias", "version", "status", "outcome", "window_start", "window_end", "rows",
            "drifted_features", "drifted_outputs", "scores", "live_metric", "report_json", "report_html")
    return [r.model_dump(mode="json", include=set(keep) & set(type(r).model_fields)) for r in runs]
