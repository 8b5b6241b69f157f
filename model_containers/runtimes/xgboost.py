"""XGBoost runtime: boosters saved as JSON or UBJ (never pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_containers.errors import ArtifactError
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Runtime, single_array


class XGBoostRuntime(Runtime):
    """An ``xgboost.Booster``; classifiers give probabilities (``inplace_predict``)."""

    def load(self, model_dir: Path, manifest: Manifest) -> None:
        import xgboost as xgb

        path = model_dir / manifest.model_file
        if path.suffix not in (".json", ".ubj"):
            raise ArtifactError("XGBoost models must be saved as .json or .ubj")
        booster = xgb.Booster()
        booster.load_model(str(path))
        # The CUDA build of XGBoost uses the GPU when one is visible; the CPU build never does.
        if xgb.build_info().get("USE_CUDA") and Path("/dev/nvidia0").exists():
            booster.set_param({"device": "cuda"})
            self.device = "cuda"
        self._booster = booster

    def predict(self, batch: Batch) -> np.ndarray:
        # inplace_predict skips building a DMatrix: the cheapest path for small batches.
        return self._booster.inplace_predict(single_array(batch, "XGBoost"))
