"""Deployments and retrains: the API side of the deploy and retrain workflows.

`POST /v1/models/{name}/deployments` records a deployment and starts the deploy workflow
(202); `GET .../deployments/{id}` shows its `status`, current `step` and failure `cause`.
Retrains start when a dataset lands under the model's dataset prefix: `upload_dataset`
asks the API for a presigned PUT (bound to the file's SHA-256) and sends the file;
`GET .../retrains[/{id}]` follows them. The shapes are the core's own records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from functions.core.deployments import TERMINAL as DEPLOYMENT_DONE
from functions.core.deployments import Deployment, ImageRef, NewDeployment
from functions.core.endpoints import EndpointSettings, TrafficStrategy
from functions.core.ports import Upload
from functions.core.retraining import DatasetUpload, NewDataset, Retrain, RetrainStatus
from modelport.client.errors import ModelportError
from modelport.client.resources import _Resource, iterate, seg, validated
from modelport.client.shapes import Page
from modelport.client.transport import Transport, new_idempotency_key
from modelport.client.upload import Progress, sha256_of

RETRAIN_DONE = frozenset({RetrainStatus.succeeded, RetrainStatus.failed})

__all__ = ["DatasetUpload", "Deployment", "Deployments", "Retrain", "Retrains"]


class Deployments(_Resource):
    def start(
        self,
        model: str,
        version: str,
        *,
        to: str = "production",
        settings: EndpointSettings | dict[str, Any] | None = None,
        strategy: str | TrafficStrategy | None = None,
        image: ImageRef | dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Deploy `version` (a spec or an alias) of `model` behind alias `to`.

        `strategy` ("canary:10%:60s", ...) overrides the one in `settings`.
        """
        endpoint = validated(EndpointSettings, settings or {})
        if strategy is not None:
            parsed = TrafficStrategy.parse(strategy) if isinstance(strategy, str) else strategy
            endpoint = endpoint.model_copy(update={"strategy": parsed})
        command = validated(NewDeployment, {"version": version, "alias": to, "settings": endpoint, "image": image})
        data = self._t.json(
            "POST", f"/v1/models/{seg(model)}/deployments", body=command.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key or new_idempotency_key(),
        )  # fmt: skip
        return Deployment.model_validate(data)

    def get(self, model: str, deployment_id: str) -> Deployment:
        return Deployment.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/deployments/{seg(deployment_id)}"))

    def page(self, model: str, *, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/deployments", params={"limit": limit, "cursor": cursor})
        return Page[Deployment].model_validate(data)

    def list(self, model: str, *, page_size: int = 50) -> Iterator[Deployment]:
        """Newest first."""
        return iterate(lambda cursor: self.page(model, limit=page_size, cursor=cursor))

    def follow(self, model: str, deployment_id: str, *, interval_s: float = 0.25,
               timeout_s: float = 900.0) -> Iterator[Deployment]:
        """Yield the deployment each time its status or step changes, until it is done."""
        return _follow(lambda: self.get(model, deployment_id), lambda d: d.status in DEPLOYMENT_DONE,
                       interval_s, timeout_s)

    def wait(self, model: str, deployment_id: str, **options: float) -> Deployment:
        return _last(self.follow(model, deployment_id, **options))


class Retrains(_Resource):
    def __init__(self, transport: Transport, upload: Callable[[Upload, Path, Progress | None], None]) -> None:
        super().__init__(transport)
        self._upload = upload

    def upload_dataset(self, model: str, path: str | Path, *, progress: Progress | None = None) -> DatasetUpload:
        """Upload a dataset file into the model's dataset prefix, which starts a retrain."""
        path = Path(path)
        command = validated(NewDataset, {"filename": path.name, "sha256": sha256_of(path), "size": path.stat().st_size})
        answer = self._t.json("POST", f"/v1/models/{seg(model)}/datasets", body=command.model_dump(mode="json"),
                              idempotency_key=new_idempotency_key())
        created = DatasetUpload.model_validate(answer)
        self._upload(created.upload, path, progress)
        return created

    def get(self, model: str, retrain_id: str) -> Retrain:
        return Retrain.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/retrains/{seg(retrain_id)}"))

    def page(self, model: str, *, limit: int = 50, cursor: str | None = None) -> Page[Retrain]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/retrains", params={"limit": limit, "cursor": cursor})
        return Page[Retrain].model_validate(data)

    def list(self, model: str, *, page_size: int = 50) -> Iterator[Retrain]:
        """Newest first."""
        return iterate(lambda cursor: self.page(model, limit=page_size, cursor=cursor))

    def for_dataset(self, model: str, dataset_uri: str, *, timeout_s: float = 60.0, interval_s: float = 0.2) -> Retrain:
        """The retrain that the upload of `dataset_uri` started (waits for the trigger)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for retrain in self.page(model, limit=20).items:
                if retrain.dataset.uri == dataset_uri:
                    return retrain
            if time.monotonic() > deadline:
                raise ModelportError(f"no retrain started for {dataset_uri} within {timeout_s:g}s", code="Timeout")
            time.sleep(interval_s)

    def follow(self, model: str, retrain_id: str, *, interval_s: float = 0.25,
               timeout_s: float = 900.0) -> Iterator[Retrain]:
        return _follow(lambda: self.get(model, retrain_id), lambda r: r.status in RETRAIN_DONE, interval_s, timeout_s)

    def wait(self, model: str, retrain_id: str, **options: float) -> Retrain:
        return _last(self.follow(model, retrain_id, **options))


def _follow(fetch: Callable[[], Any], done: Callable[[Any], bool], interval_s: float, timeout_s: float) -> Iterator[Any]:
    deadline = time.monotonic() + timeout_s
    seen: tuple[Any, ...] | None = None
    while True:
        current = fetch()
        state = (current.status, current.step)
        if state != seen:
            yield current
            seen = state
        if done(current):
            return
        if time.monotonic() > deadline:
            raise ModelportError(f"gave up after {timeout_s:g}s (still {current.status} at {current.step})", code="Timeout")
        time.sleep(interval_s)


def _last(items: Iterator[Any]) -> Any:
    last = None
    for last in items:
        pass
    return last
