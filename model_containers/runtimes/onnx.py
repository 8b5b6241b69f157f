"""ONNX runtime: onnxruntime, with the CUDA execution provider when the GPU build has it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_containers.errors import ArtifactError
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Prediction, Runtime

_ORT_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_, "tensor(string)": np.object_,
}


class OnnxRuntime(Runtime):
    """An ONNX graph; one output gives an array, several give ``{name: array}``."""

    def load(self, model_dir: Path, manifest: Manifest) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(model_dir / manifest.model_file),
                                           sess_options=options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ArtifactError(f"onnxruntime cannot load {manifest.model_file}: {type(exc).__name__}") from None
        self.device = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
        self._session = session
        self._inputs = [(i.name, _ORT_TYPES.get(i.type)) for i in session.get_inputs()]
        wanted = [o.name for o in manifest.signature.outputs]
        names = [o.name for o in session.get_outputs()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ArtifactError(f"signature outputs not in the ONNX graph: {', '.join(unknown)}")
        self._outputs = wanted or names

    def predict(self, batch: Batch) -> Prediction:
        if isinstance(batch, dict):
            feeds = {name: _cast(batch[name], dtype) for name, dtype in self._inputs}
        elif len(self._inputs) == 1:
            name, dtype = self._inputs[0]
            feeds = {name: _cast(batch, dtype)}
        else:
            raise ArtifactError("the ONNX graph has several inputs; declare them in the signature")
        results = self._session.run(self._outputs, feeds)
        if len(results) == 1:
            return results[0]
        return dict(zip(self._outputs, results))


def _cast(array: np.ndarray, dtype) -> np.ndarray:
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)
