"""`modelport.Client`: the Python SDK of the Modelport API.

    from modelport import Client

    client = Client("http://127.0.0.1:8080", api_key="mp_...")   # or Client() for env/login
    client.models.create({"name": "churn", "owner": "ds-team", "framework": "sklearn"})
    published = client.push("churn", "out/model", version="1.0.0", card={...})
    client.versions.submit("churn", "1.0.0")
    print(client.invoke("churn", [[1.0, 2.0]]).data())
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Self

import httpx
from pydantic import SecretStr

from modelport.client import config
from modelport.client.baselines import resolve as resolve_baseline
from modelport.client.errors import ModelportError
from modelport.client.evidence import Evidence
from modelport.client.monitoring import Monitoring
from modelport.client.packing import PackedModel, existing_signature, pack_model
from modelport.client.resources import Aliases, Audit, Keys, Models, Versions, seg, validated
from modelport.client.shapes import Invocation, ModelCard, NewVersion, PublishedVersion
from modelport.client.transport import Transport, new_idempotency_key
from modelport.client.upload import Progress, put_file
from modelport.client.workflows import Deployments, Retrains

OIP_V2 = "oip-v2"


class Client:
    """A connection to one Modelport API with one key. Thread-safe; close it (or use `with`)."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | SecretStr | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        http_transport: httpx.BaseTransport | None = None,
        settings: config.UserSettings | None = None,
    ) -> None:
        settings = settings or config.UserSettings()
        if url is None or api_key is None:
            found_url, found_key = config.resolve(settings)
            url, api_key = url or found_url, api_key or found_key
        self.url = url.rstrip("/")
        self._timeout = timeout or settings.timeout_s
        self._http_transport = http_transport
        self._t = Transport(
            self.url, api_key, timeout=self._timeout,
            max_retries=settings.max_retries if max_retries is None else max_retries,
            http_transport=http_transport,
        )  # fmt: skip
        self.models = Models(self._t)
        self.versions = Versions(self._t)
        self.aliases = Aliases(self._t)
        self.keys = Keys(self._t)
        self.audit = Audit(self._t)
        self.deployments = Deployments(self._t)
        self.retrains = Retrains(self._t, self._upload)
        self.evidence = Evidence(self._t)
        self.monitoring = Monitoring(self._t)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, api_key=<hidden>)"

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- publishing ------------------------------------------------------------------------
    def push(
        self,
        model: str,
        path: str | Path,
        *,
        version: str | None = None,
        bump: str | None = None,
        card: ModelCard | dict[str, Any] | None = None,
        lineage: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        framework: str | None = None,
        model_file: str | None = None,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
        baseline: Any = None,
        baseline_target: str | None = None,
        baseline_predictions: str | None = None,
        categorical: tuple[str, ...] = (),
    ) -> PublishedVersion:
        """Pack `path` (model dir, file or model.tar.gz), publish it and upload the artifact.

        Give `version` ("1.0.0") or `bump` ("major", "minor", "patch"; patch by default).
        `progress(sent, total)` is called as the upload goes. `baseline` (a training table:
        DataFrame or .csv/.parquet path, with `baseline_target` / `baseline_predictions`
        naming its label and prediction columns; or a ready profile) becomes the artifact's
        `baseline.json`, which the drift job compares live traffic with; its SHA-256 goes
        into the lineage (so does a `baseline.json` the trainer already wrote).
        """
        profile = resolve_baseline(baseline, signature=existing_signature(Path(path)), target=baseline_target,
                                   predictions=baseline_predictions, categorical=categorical)
        with tempfile.TemporaryDirectory(prefix="modelport-push-") as work:
            packed = pack_model(Path(path), Path(work), framework=framework, model_file=model_file,
                                baseline=profile)
            if packed.baseline_sha256:
                lineage = {**(lineage or {}), "baseline_sha256": packed.baseline_sha256}
            new = self._new_version(packed, version, bump, card, lineage, metrics)
            published = self.versions.publish(model, new, idempotency_key=idempotency_key or new_idempotency_key())
            if published.upload is not None:
                self._upload(published.upload, packed.path, progress)
        return published

    @staticmethod
    def _new_version(
        packed: PackedModel,
        version: str | None,
        bump: str | None,
        card: ModelCard | dict[str, Any] | None,
        lineage: dict[str, Any] | None,
        metrics: dict[str, float] | None,
    ) -> NewVersion:
        manifest_card = packed.manifest.get("card") if isinstance(packed.manifest.get("card"), dict) else {}
        given = card.model_dump(exclude_none=True) if isinstance(card, ModelCard) else dict(card or {})
        return validated(
            NewVersion,
            {
                "version": version,
                "bump": None if version else (bump or "patch"),
                "sha256": packed.sha256,
                "size": packed.size,
                "framework": packed.framework,
                "signature": packed.signature,
                "metrics": {**packed.metrics, **(metrics or {})},
                "lineage": lineage or {},
                "card": {**manifest_card, **given},
            },
        )

    def _upload(self, upload: Any, path: Path, progress: Progress | None = None) -> None:
        put_file(upload, path, progress=progress, timeout=max(self._timeout, 300.0),
                 http_transport=self._http_transport)

    # -- inference -------------------------------------------------------------------------
    def invoke(
        self,
        model: str,
        data: Any = None,
        *,
        version: str | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        protocol: str = "sagemaker",
    ) -> Invocation:
        """Call a model: its `production` alias, or `version` (a spec or an alias).

        `data` is sent as JSON (SageMaker style: `[[...], ...]` or `{"instances": ...}`);
        `body` sends raw bytes with `content_type` instead. `protocol="oip-v2"` uses the
        Open Inference Protocol v2 route (`data` is then `{"inputs": [...]}`).
        """
        if protocol not in ("sagemaker", OIP_V2):
            raise ModelportError(f"unknown protocol {protocol!r}: use sagemaker or oip-v2", code="InvalidInput")
        path = inference_path(model, version, protocol)
        content = body if body is not None else json.dumps(data).encode()
        response = self._t.send("POST", path, content=content, headers={"Content-Type": content_type})
        return Invocation(
            body=response.content,
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
            variant=response.headers.get("X-Amzn-Invoked-Production-Variant"),
            status=response.status_code,
            inference_id=response.headers.get("X-Modelport-Inference-Id"),
        )


def inference_path(model: str, version: str | None = None, protocol: str = "sagemaker") -> str:
    """The inference route of a model (and version spec) for a protocol."""
    base = f"/v2/models/{seg(model)}" if protocol == OIP_V2 else f"/v1/models/{seg(model)}"
    if version:
        base += f"/versions/{seg(version)}"
    return base + ("/infer" if protocol == OIP_V2 else "/invocations")
