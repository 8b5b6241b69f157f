"""TorchScript runtime (optional ``torch`` extra), on CUDA when the image has a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_containers.errors import ArtifactError
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Prediction, Runtime


class TorchScriptRuntime(Runtime):
    """A ``torch.jit`` module; several inputs are passed positionally in signature order."""

    def load(self, model_dir: Path, manifest: Manifest) -> None:
        import torch

        self._torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            module = torch.jit.load(str(model_dir / manifest.model_file), map_location=self.device)
        except RuntimeError as exc:
            raise ArtifactError(f"torch cannot load {manifest.model_file} as TorchScript") from exc
        module.eval()
        self._module = module
        self._input_names = [spec.name for spec in manifest.signature.inputs]
        self._output_names = [spec.name for spec in manifest.signature.outputs]

    def predict(self, batch: Batch) -> Prediction:
        torch = self._torch
        arrays = [batch[name] for name in self._input_names] if isinstance(batch, dict) else [batch]
        with torch.inference_mode():
            tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in arrays]
            out = self._module(*tensors)
        if isinstance(out, (tuple, list)):
            names = self._output_names if len(self._output_names) == len(out) else [
                f"output_{i}" for i in range(len(out))]
            return {n: t.detach().cpu().numpy() for n, t in zip(names, out)}
        if isinstance(out, dict):
            return {k: v.detach().cpu().numpy() for k, v in out.items()}
        return out.detach().cpu().numpy()
