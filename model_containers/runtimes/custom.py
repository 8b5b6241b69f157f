"""Bring-your-own-code runtime: a ``predictor.py`` with ``load(model_dir)`` and ``predict(batch)``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from model_containers.errors import ArtifactError
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Prediction, Runtime


def import_file(path: Path, module_name: str):
    """Import a Python file from an (already verified) artifact as a module."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ArtifactError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # The artifact directory goes on sys.path so the predictor can import its helpers.
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


class CustomRuntime(Runtime):
    """The user's module; ``load`` is called once, ``predict`` per batch."""

    def load(self, model_dir: Path, manifest: Manifest) -> None:
        path = model_dir / manifest.model_file
        if path.suffix != ".py":
            raise ArtifactError("a python model's model_file must be a .py file (predictor.py)")
        module = import_file(path, "modelport_user_predictor")
        for name in ("load", "predict"):
            if not callable(getattr(module, name, None)):
                raise ArtifactError(f"{manifest.model_file} must define {name}()")
        module.load(model_dir)
        self._module = module

    def predict(self, batch: Batch) -> Prediction:
        out = self._module.predict(batch)
        if isinstance(out, dict):
            return {k: np.asarray(v) for k, v in out.items()}
        return np.asarray(out)
