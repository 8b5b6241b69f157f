"""Deployments and retrains: the API side of the deploy and retrain workflows.

`POST /v1/models/{name}/deployments` starts a deployment (202) that the deploy workflow
carries out; `GET .../deployments/{id}` shows its status and current step. Retrains start
when a dataset lands under the model's dataset prefix: `datasets.upload` asks the API for
a presigned PUT and sends the file; `GET .../retrains[/{id}]` follows them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.core.endpoints import EndpointSettings, TrafficStrategy
from functions.core.ports import Upload
from modelport.client.resources import _Resource, iterate, seg
from modelport.client.shapes import Page
from modelport.client.transport import Transport, new_idempotency_key
from modelport.client.upload import Progress

#: statuses after which a deployment or retrain changes no more.
FINAL = frozenset({"succeeded", "failed", "rolled_back", "rejected_by_evaluation", "aborted", "timed_out"})


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Deployment(_Open):
    id: str
    model: str
    status: str
    step: str | None = None
    version: str | None = None
    alias: str | None = None
    endpoint: str | None = None
    cause: str | None = None

    @property
    def done(self) -> bool:
        return self.status in FINAL


class Retrain(_Open):
    id: str
    model: str
    status: str
    step: str | None = None
    outcome: str | None = None
    version: str | None = None
    cause: str | None = None

    @property
    def done(self) -> bool:
        return self.status in FINAL


class DatasetUpload(_Open):
    uri: str
    upload: Upload


class Deployments(_Resource):
    def start(
        self,
        model: str,
        version: str,
        *,
        to: str = "production",
        endpoint: EndpointSettings | None = None,
        strategy: str | TrafficStrategy | None = None,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Deploy `version` (a spec or an alias) of `model` behind alias `to`."""
        settings = endpoint or EndpointSettings()
        if strategy is not None:
            parsed = TrafficStrategy.parse(strategy) if isinstance(strategy, str) else strategy
            settings = settings.model_copy(update={"strategy": parsed})
        body = {"version": version, "alias": to, "endpoint": settings.model_dump(mode="json")}
        data = self._t.json(
            "POST", f"/v1/models/{seg(model)}/deployments", body=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )  # fmt: skip
        return Deployment.model_validate(data)

    def get(self, model: str, deployment_id: str) -> Deployment:
        return Deployment.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/deployments/{seg(deployment_id)}"))

    def page(self, model: str, *, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/deployments", params={"limit": limit, "cursor": cursor})
        return Page[Deployment].model_validate(data)

    def list(self, model: str, *, page_size: int = 50) -> Iterator[Deployment]:
        return iterate(lambda cursor: self.page(model, limit=page_size, cursor=cursor))

    def follow(self, model: str, deployment_id: str, *, interval_s: float = 0.25,
               timeout_s: float = 900.0) -> Iterator[Deployment]:
        """Yield the deployment each time it changes, until it is done."""
        yield from _follow(lambda: self.get(model, deployment_id), interval_s, timeout_s)


class Retrains(_Resource):
    def __init__(self, transport: Transport, upload: Callable[[Upload, Path, Progress | None], None]) -> None:
        super().__init__(transport)
        self._upload = upload

    def upload_dataset(self, model: str, path: str | Path, *, progress: Progress | None = None) -> DatasetUpload:
        """Upload a dataset file into the model's dataset prefix, which starts a retrain."""
        path = Path(path)
        data = path.read_bytes()
        body = {"filename": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        answer = self._t.json(
            "POST", f"/v1/models/{seg(model)}/datasets", body=body, idempotency_key=new_idempotency_key()
        )
        created = DatasetUpload.model_validate(answer)
        self._upload(created.upload, path, progress)
        return created

    def get(self, model: str, retrain_id: str) -> Retrain:
        return Retrain.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/retrains/{seg(retrain_id)}"))

    def page(self, model: str, *, limit: int = 50, cursor: str | None = None) -> Page[Retrain]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/retrains", params={"limit": limit, "cursor": cursor})
        return Page[Retrain].model_validate(data)

    def list(self, model: str, *, page_size: int = 50) -> Iterator[Retrain]:
        return iterate(lambda cursor: self.page(model, limit=page_size, cursor=cursor))

    def follow(self, model: str, retrain_id: str, *, interval_s: float = 0.25,
               timeout_s: float = 900.0) -> Iterator[Retrain]:
        yield from _follow(lambda: self.get(model, retrain_id), interval_s, timeout_s)


def _follow(fetch: Callable[[], Any], interval_s: float, timeout_s: float) -> Iterator[Any]:
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        current = fetch()
        if current != last:
            yield current
            last = current
        if current.done:
            return
        if time.monotonic() > deadline:
            from modelport.client.errors import ModelportError

            raise ModelportError(f"gave up following after {timeout_s:g}s (still {current.status})", code="Timeout")
        time.sleep(interval_s)
