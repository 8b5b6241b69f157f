"""The data plane every protocol codec calls (like MLServer's ``DataPlane``).

It owns the loaded model: integrity check, runtime, compiled input schema, optional
adaptive batcher, readiness and metadata. It knows nothing of HTTP; codecs turn requests
into batches for :meth:`DataPlane.infer` and predictions back into responses.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

import numpy as np

from model_containers.errors import (
    ContainerError,
    InvalidInput,
    ModelNotFound,
    ModelNotReady,
    PredictionFailed,
)
from model_containers.manifest import Manifest, TensorSpec, load_manifest, verify_artifact
from model_containers.runtimes import Batch, Prediction, Runtime, runtime_for
from model_containers.serving.batching import AdaptiveBatcher
from model_containers.serving.schema import InputSchema
from model_containers.settings import ContainerSettings

log = logging.getLogger("model_containers.serving")

LOADING, READY, FAILED = "loading", "ready", "failed"
#: what a request asks the model for: labels (or whatever ``predict`` gives),
#: class probabilities, or both (``{"label": ..., "proba": ...}``)
PREDICT, PROBA, BOTH = "predict", "predict_proba", "both"
PROBA_PREFIX = "proba_"


class DataPlane:
    """Model state shared by the SageMaker, MLflow and OIP codecs."""

    def __init__(self, settings: ContainerSettings) -> None:
        self.settings = settings
        self.state = LOADING
        self.failure: str | None = None
        self.manifest: Manifest | None = None
        self.runtime: Runtime | None = None
        self.schema: InputSchema | None = None
        self.output_specs: list[TensorSpec] = []
        self.name = settings.model_name or "model"
        self.version = "1"
        #: OIP outputs with one class's probability each (classifiers that give them)
        self.proba_names: list[str] = []
        self._batcher: AdaptiveBatcher | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def load(self) -> None:
        """Verify and load the model (blocking; run it off the event loop). Never raises."""
        started = time.perf_counter()
        model_dir = Path(self.settings.model_dir)
        try:
            manifest = load_manifest(model_dir)
            verify_artifact(model_dir, manifest)
            if manifest.allow_pickle and not self.settings.allow_pickle:
                # The packer's say-so is not enough: the model's policy must allow it too.
                manifest = manifest.model_copy(update={"allow_pickle": False})
            runtime = runtime_for(manifest.framework)
            runtime.load(model_dir, manifest)
        except ContainerError as exc:
            self._fail(exc.message)
            return
        except Exception as exc:
            log.exception("model failed to load")
            self._fail(f"model failed to load ({type(exc).__name__})")
            return
        self.manifest, self.runtime = manifest, runtime
        self.schema = InputSchema(manifest.signature, table=runtime.table)
        self.name = self.settings.model_name or manifest.name or "model"
        self.version = manifest.version or "1"
        # One prediction before the first request (lazy initialisation in frameworks, JIT
        # warm-up); it also tells the output specs when the signature does not.
        probed = self._warm_up()
        self.output_specs = list(manifest.signature.outputs) or probed
        self.proba_names = [f"{PROBA_PREFIX}{c}" for c in runtime.classes] if runtime.classes is not None else []
        # Everything loaded so far (frameworks, the model) lives as long as the process:
        # freezing it keeps full garbage collections from walking it, which otherwise
        # shows up as multi-millisecond pauses at the tail of request latency.
        gc.collect()
        gc.freeze()
        self.state = READY
        log.info("model ready: framework=%s device=%s file=%s in %.2fs", manifest.framework,
                 runtime.device, manifest.model_file, time.perf_counter() - started)

    def _fail(self, message: str) -> None:
        self.state, self.failure = FAILED, message
        log.error("model not served: %s", message)

    def _warm_up(self) -> list[TensorSpec]:
        """Predict one zero row; return the output specs it shows (empty if it cannot)."""
        schema = self.schema
        if schema is None or schema.kind == "any" or (schema.is_str and schema.kind != "table"):
            return []
        try:
            if schema.kind == "table":  # one row of missing values: every model must take it
                batch = schema.records([dict.fromkeys(schema.names)])
            elif schema.kind == "multi":
                batch = {s.name: np.zeros((1, *[max(d, 1) for d in s.tail]), s.dtype) for s in schema.specs}
            elif schema.kind == "tensor":
                batch = np.zeros((1, *[max(d, 1) for d in schema.specs[0].tail]), schema.dtype)
            else:
                batch = np.zeros((1, schema.width), schema.dtype)
            pred = self.runtime.predict(batch)
        except Exception:  # noqa: BLE001 - a model may reject zeros; metadata then omits outputs
            return []
        items = pred.items() if isinstance(pred, dict) else [("predictions", pred)]
        specs = []
        for name, arr in items:
            arr = np.asarray(arr)
            dtype = "string" if arr.dtype.kind in "OUS" else arr.dtype.name
            specs.append(TensorSpec(name=name, dtype=dtype, shape=[-1, *arr.shape[1:]]))
        return specs

    async def start(self) -> None:
        """Begin loading in a worker thread; ``/ping`` answers 503 until it is done."""
        loop = asyncio.get_running_loop()
        if self.settings.max_batch_size > 1:
            self._batcher = AdaptiveBatcher(self._predict, loop=loop,
                                            max_batch_size=self.settings.max_batch_size,
                                            max_latency_ms=self.settings.max_latency_ms)
        loop.run_in_executor(None, self.load)

    @property
    def ready(self) -> bool:
        return self.state == READY

    def check_model(self, name: str, version: str | None = None) -> None:
        """Raise :class:`ModelNotFound` unless ``name``/``version`` is the served model."""
        if name != self.name or (version is not None and version != self.version):
            raise ModelNotFound("no such model (or version) on this server")

    # -- inference ---------------------------------------------------------------------
    def require_schema(self) -> InputSchema:
        if self.state != READY:
            raise ModelNotReady(f"the model is {self.state}")
        return self.schema

    def arrive(self) -> list[bool] | None:
        """Count a request that will call :meth:`infer` (batching only); pass the ticket on."""
        if self._batcher is None:
            return None
        self._batcher.arriving += 1
        return [True]

    def leave(self, ticket: list[bool] | None) -> None:
        """Uncount a request that ended before :meth:`infer` (bad input, not ready)."""
        if ticket is not None and ticket[0]:
            ticket[0] = False
            self._batcher.arriving -= 1

    async def infer(self, batch: Batch, ticket: list[bool] | None = None, method: str = PREDICT) -> Prediction:
        """Predict one request's batch, through the batcher when batching is on.

        ``method`` PROBA gives the probability matrix (columns in ``runtime.classes``
        order), BOTH ``{"label": labels, "proba": matrix}``.
        """
        if method != PREDICT and self.runtime.classes is None:
            self.leave(ticket)
            raise InvalidInput("this model gives no class probabilities (predict_proba)")
        if self._batcher is not None:
            self.leave(ticket)
            return await self._batcher.submit(batch, method)
        return self._predict(batch, method)

    def _predict(self, batch: Batch, method: str = PREDICT) -> Prediction:
        try:
            if method == PROBA:
                return self.runtime.predict_proba(batch)
            if method == BOTH:
                labels, proba = self.runtime.predict_both(batch)
                return {"label": labels, "proba": proba}
            return self.runtime.predict(batch)
        except ContainerError:
            raise
        except (ValueError, TypeError) as exc:
            # Framework messages can quote input values, so only the type is passed on.
            raise InvalidInput(f"the model could not predict on this input ({type(exc).__name__})") from None
        except Exception as exc:
            log.exception("prediction failed")
            raise PredictionFailed(f"prediction failed ({type(exc).__name__})") from None

    # -- metadata ----------------------------------------------------------------------
    def metadata(self) -> dict:
        """OIP model metadata (``GET /v2/models/{name}``)."""
        from model_containers.serving.codecs.oip import spec_to_oip

        inputs = self.manifest.signature.inputs if self.manifest else []
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": self.manifest.framework if self.manifest else "",
            "inputs": [spec_to_oip(s) for s in inputs],
            "outputs": [spec_to_oip(s) for s in self.output_specs]
            + [{"name": n, "datatype": "FP64", "shape": [-1]} for n in self.proba_names],
        }
