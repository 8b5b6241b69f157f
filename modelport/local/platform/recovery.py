"""Recovery at start: what a crash of the last `local up` interrupted (DESIGN §9).

By the time this runs the embedded AWS holds every acknowledged write (the journal), the
processes the killed platform left are stopped (`LocalCloud.start`), and the local
SageMaker has brought its endpoints back. Then:

1. `records()` (before the API opens): every deployment and retrain that had not
   finished is ended (`functions.core.recovery`), audited: their workflow executions
   died with the process that ran them.
2. `endpoints()` (in the background, once the endpoints settled): the registry and the
   local SageMaker must agree. An endpoint named as the platform's that no alias serves
   from is reported and deleted; one that serves another version than its alias says
   (the crash fell between the endpoint's update and the alias's move) is rolled back to
   the alias's configuration; other endpoints are reported and left alone. Each action
   is audited on the model's chain.

What was done goes into `<state>/recovery.json`, the log, and the `local up` banner.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from functions.core import recovery
from functions.core.deployments import DEPLOY_PREFIX, TERMINAL, Deployment, DeploymentStatus
from functions.core.models import Alias
from functions.core.ports import Deps
from functions.core.records import model_pk
from functions.core.retraining import FINISHED, Retrain
from modelport.local.statefiles import write_json_atomic

log = logging.getLogger(__name__)

_SETTLING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


@dataclass
class Report:
    """What recovery found and did at one start."""

    orphans: list[dict] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)
    retrains: list[dict] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    finished: bool = False

    def lines(self) -> list[str]:
        said = [f"stopped {o.get('kind') or 'a'} process {o['pid']} ({o.get('owner') or '?'}) left by the last run"
                for o in self.orphans]
        said += [f"deployment {d['model']}/{d['id']}: {d['outcome']} ({d['why']})" for d in self.deployments]
        said += [f"retrain {r['model']}/{r['id']}: failed (interrupted at step {r['step']})" for r in self.retrains]
        said += [f"endpoint {e['endpoint']}: {e['action']} ({e['why']})" for e in self.endpoints]
        return said


@dataclass
class _Scan:
    deployments: list[Deployment] = field(default_factory=list)
    retrains: list[Retrain] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)


class Recovery:
    """One start's recovery; `records()` first, then `endpoints()`."""

    def __init__(self, deps: Deps, dynamodb: Any, sagemaker: Any, *, table: str, stage: str,
                 started_at: float, state_dir: Path, orphans: list[dict]) -> None:
        self._deps, self._dynamodb, self._sagemaker = deps, dynamodb, sagemaker
        self._table, self._stage, self._started_at = table, stage, started_at
        self._path = state_dir / "recovery.json"
        self._ctx = recovery.context()
        self.report = Report(orphans=list(orphans))
        self._scan = _Scan()

    # -- records --------------------------------------------------------------------------
    def records(self) -> None:
        """End every deployment and retrain the last run left unfinished."""
        self._scan = self._read()
        for deployment in self._scan.deployments:
            if deployment.status in TERMINAL:
                continue
            ended = recovery.end_deployment(self._deps, self._ctx, deployment)
            if ended is not None:
                why = ended.notes[-1] if ended.status == DeploymentStatus.succeeded else ended.cause
                self.report.deployments.append({"model": ended.model, "id": ended.id, "outcome": ended.status.value,
                                                "step": deployment.step, "why": why})
        for retrain in self._scan.retrains:
            if retrain.status in FINISHED:
                continue
            if recovery.end_retrain(self._deps, self._ctx, retrain) is not None:
                self.report.retrains.append({"model": retrain.model, "id": retrain.id, "step": retrain.step})
        self._save()

    def _read(self) -> _Scan:
        scan = _Scan()
        kinds = {Deployment.KIND: (Deployment, scan.deployments), Retrain.KIND: (Retrain, scan.retrains),
                 Alias.KIND: (Alias, scan.aliases)}
        paginator = self._dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table, ConsistentRead=True, ProjectionExpression="#k, #d",
            FilterExpression="#k IN (:d, :r, :a)", ExpressionAttributeNames={"#k": "kind", "#d": "data"},
            ExpressionAttributeValues={f":{k[0]}": {"S": k} for k in kinds},
        ):
            for item in page["Items"]:
                cls, into = kinds[item["kind"]["S"]]
                into.append(cls.model_validate_json(item["data"]["S"]))
        return scan

    # -- endpoints ------------------------------------------------------------------------
    def endpoints(self, settle_timeout_s: float = 120.0) -> None:
        """Make the local SageMaker's endpoints agree with the registry (background)."""
        try:
            self._endpoints(time.monotonic() + settle_timeout_s)
        except Exception:
            log.exception("recovery: reconciling endpoints with the registry failed")
        finally:
            self.report.finished = True
            self._save()

    def _endpoints(self, deadline: float) -> None:
        ours = f"mp-{self._stage}-"
        by_endpoint = {a.endpoint: a for a in self._scan.aliases if a.endpoint}
        owner = {d.endpoint: d.model for d in self._scan.deployments}
        for summary in self._all_endpoints():
            name = summary["EndpointName"]
            if _epoch(summary["CreationTime"]) >= self._started_at:
                continue  # created by this run
            if not name.startswith(ours):
                self._did(None, name, "left alone", "not named as this platform's endpoints (mp-<stage>-...)")
                continue
            described = self._settled(name, deadline)
            if described is None:
                continue
            alias = by_endpoint.get(name)
            if alias is not None:
                alias = self._deps.store.get(alias.key, Alias, consistent=True)
            if alias is None or alias.endpoint != name:
                if self._deploying(owner.get(name), name):
                    continue
                self._sagemaker.delete_endpoint(EndpointName=name)
                self._did(owner.get(name), name, "deleted",
                          "no alias serves from it (its deployment was interrupted before the alias moved)")
                continue
            self._agree(alias, described)

    def _agree(self, alias: Alias, described: dict) -> None:
        name = described["EndpointName"]
        expected = self._expected_config(alias)
        current = described.get("EndpointConfigName")
        if expected is None or current == expected:
            return
        try:
            self._sagemaker.describe_endpoint_config(EndpointConfigName=expected)
        except self._sagemaker.exceptions.ClientError:
            self._did(alias.model, name, "left as it is",
                      f"it serves {current}, not {alias.model} {alias.version}'s {expected}, which no longer "
                      "exists; deploy the alias again")
            return
        self._sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=expected)
        self._did(alias.model, name, "rolled back",
                  f"it served {current} while alias {alias.alias} says {alias.version}; back to {expected}")

    def _expected_config(self, alias: Alias) -> str | None:
        """The configuration of the deployment that moved the alias where it is."""
        from functions.workflows.deploy_plan import resource_name

        deployment_id = alias.period.deployment_id if alias.period is not None else None
        if deployment_id is None:
            matching = sorted(
                (d for d in self._scan.deployments if d.model == alias.model and d.alias == alias.alias
                 and d.version == alias.version and d.endpoint == alias.endpoint
                 and d.status == DeploymentStatus.succeeded),
                key=lambda d: d.created_at,
            )
            deployment_id = matching[-1].id if matching else None
        return resource_name(alias.endpoint, deployment_id) if deployment_id and alias.endpoint else None

    def _deploying(self, model: str | None, endpoint: str) -> bool:
        """A deployment of this run is creating the endpoint (the scan predates it)."""
        if model is None:
            return False
        page = self._deps.store.query(model_pk(model), Deployment, prefix=DEPLOY_PREFIX, limit=10,
                                      newest_first=True, consistent=True)
        return any(d.endpoint == endpoint and d.status not in TERMINAL for d in page.items)

    def _all_endpoints(self) -> list[dict]:
        found: list[dict] = []
        token = None
        while True:
            page = self._sagemaker.list_endpoints(**({"NextToken": token} if token else {}), MaxResults=100)
            found += page["Endpoints"]
            token = page.get("NextToken")
            if not token:
                return found

    def _settled(self, name: str, deadline: float) -> dict | None:
        while True:
            try:
                described = self._sagemaker.describe_endpoint(EndpointName=name)
            except self._sagemaker.exceptions.ClientError:
                return None
            if described["EndpointStatus"] not in _SETTLING or time.monotonic() > deadline:
                return described
            time.sleep(0.2)

    def _did(self, model: str | None, endpoint: str, action: str, why: str) -> None:
        self.report.endpoints.append({"endpoint": endpoint, "model": model, "action": action, "why": why})
        log.warning("recovery: endpoint %s %s: %s", endpoint, action, why)
        if action in ("deleted", "rolled back"):
            recovery.record(self._deps, self._ctx, model, action=f"recovery.endpoint_{action.replace(' ', '_')}",
                            target=f"endpoint:{endpoint}", details={"endpoint": endpoint, "why": why})

    def _save(self) -> None:
        write_json_atomic(self._path, {"at": time.time(), **asdict(self.report)})


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)
