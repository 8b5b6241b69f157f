"""Runtimes: one ``load``/``predict`` contract per framework.

A runtime knows nothing of HTTP, codecs or batching. ``predict`` takes a batch whose first
axis is rows (a 2-D array for tabular models, or ``{input name: array}`` for models with
several inputs) and returns rows in the same order (an array, or ``{output name: array}``).
Framework packages are imported only by the runtime that needs them.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from model_containers.errors import ArtifactError
from model_containers.manifest import Manifest

Batch = np.ndarray | dict[str, np.ndarray]
Prediction = np.ndarray | dict[str, np.ndarray]


class Runtime(ABC):
    """Loads one model and predicts on batches of rows."""

    #: where predictions run ("cpu", "cuda"); shown in metadata
    device: str = "cpu"
    #: True when the model takes a table: the batch is ``{column: 1-D array}``, each column
    #: typed by its signature dtype (``model_containers.columns``)
    table: bool = False
    #: the class labels, in the order of :meth:`predict_proba`'s columns, for classifiers
    #: that give probabilities; None otherwise
    classes: np.ndarray | None = None

    @abstractmethod
    def load(self, model_dir: Path, manifest: Manifest) -> None:
        """Load the model named by ``manifest.model_file`` from the verified ``model_dir``."""

    @abstractmethod
    def predict(self, batch: Batch) -> Prediction:
        """Predict every row of ``batch``; the result's first axis matches the batch's."""

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """Class probabilities, one row per row, columns in :attr:`classes` order."""
        raise NotImplementedError

    def predict_both(self, batch: Batch) -> tuple[Prediction, np.ndarray]:
        """Labels and probabilities together (a runtime may share the work between them)."""
        return self.predict(batch), self.predict_proba(batch)


_MODULES = {
    "sklearn": ("model_containers.runtimes.sklearn", "SklearnRuntime"),
    "xgboost": ("model_containers.runtimes.xgboost", "XGBoostRuntime"),
    "onnx": ("model_containers.runtimes.onnx", "OnnxRuntime"),
    "torchscript": ("model_containers.runtimes.torchscript", "TorchScriptRuntime"),
    "python": ("model_containers.runtimes.custom", "CustomRuntime"),
}


def runtime_for(framework: str) -> Runtime:
    """A fresh, unloaded runtime for ``framework`` (importing its package now)."""
    try:
        module_name, class_name = _MODULES[framework]
    except KeyError:
        raise ArtifactError(f"no runtime for framework {framework!r}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ArtifactError(f"the {framework} runtime is not installed in this image ({exc.name})") from None
    return getattr(module, class_name)()


def single_array(batch: Batch, framework: str) -> np.ndarray:
    """The batch as one 2-D array, for frameworks that take a single feature matrix."""
    if isinstance(batch, dict):
        if len(batch) != 1:
            raise ArtifactError(f"{framework} models take one input; the signature declares {len(batch)}")
        (batch,) = batch.values()
    return batch
