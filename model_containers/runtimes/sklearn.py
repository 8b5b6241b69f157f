"""scikit-learn runtime: skops files by default, joblib/pickle only when policy allows."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import sklearn

from model_containers.errors import ArtifactError, InvalidInput, UnsafeModel
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Runtime, single_array

log = logging.getLogger(__name__)

#: The classes a skops file may hold beyond what skops itself trusts, by exact name: the
#: parts of scikit-learn estimators that skops reports as untrusted (tree structures,
#: histogram-gradient-boosting predictors, neighbour trees, dtypes). A name passes only when
#: it resolves to a class that really lives there (its `__module__` and `__qualname__`),
#: so a re-export (`scipy._lib._ccallback.PyCFuncPtr` is ctypes' `CFuncPtr`,
#: `sklearn.callback._transport.Listener` multiprocessing's `Listener`) is refused. Functions
#: are never accepted: a function reference in a file is how a loader gets made to call code.
#: A model needing another class is refused, naming it, until it is reviewed and added here.
SKOPS_CLASSES = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
})
#: What the reference trainer's pipelines hold beyond those classes, by exact name (one list,
#: kept by the trainer's owner; its tests load every estimator's output through this
#: loader): HistGradientBoosting's native categorical support keeps a
#: ``FunctionTransformer(functools.partial(sklearn.utils.validation.check_array, ...))``
#: (a partial can only wrap functions that are themselves trusted, and check_array only
#: validates an array), and date columns are expanded by Modelport's own transformer.
REFERENCE_TRAINER_TYPES = frozenset({
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "model_containers.features.DateFeatures",
})
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
_config = threading.local()


def _resolve(type_name: str):
    module_name, _, attr = type_name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        return None
    # the name must be where the object really lives, not a re-export of something else
    if getattr(obj, "__module__", None) != module_name or getattr(obj, "__qualname__", attr) != attr:
        return None
    return obj


def _is_expected_class(type_name: str) -> bool:
    if type_name in REFERENCE_TRAINER_TYPES:
        return _resolve(type_name) is not None
    if type_name not in SKOPS_CLASSES:
        return False
    return isinstance(_resolve(type_name), type)


def import_skops():
    """`skops.io`, without the cost of importing torch.

    skops builds its trusted-type list with `sklearn.utils.all_estimators()`, which walks
    every scikit-learn package, the array-API shim for torch included; where torch is
    installed (the GPU image, a development environment) that import alone takes 2-4 s per
    process, for models that never touch torch. The walk skips packages that fail to
    import, and no estimator lives in that shim, so it is marked unimportable first.
    """
    sys.modules.setdefault("sklearn.externals.array_api_compat.torch", None)
    import skops.io

    return skops.io


def load_skops(path: Path):
    """Load a skops file, trusting what skops trusts plus the classes of `SKOPS_CLASSES`
    (and `REFERENCE_TRAINER_TYPES`); refuse the rest, naming them."""
    sio = import_skops()

    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(t for t in untrusted if not _is_expected_class(t))
    if refused:
        raise UnsafeModel(
            "skops file references types outside Modelport's allowlist of estimator parts "
            "(model_containers.runtimes.sklearn.SKOPS_CLASSES): " + ", ".join(refused))
    return sio.load(path, trusted=list(untrusted))


class SklearnRuntime(Runtime):
    """A fitted scikit-learn estimator or pipeline."""

    def load(self, model_dir: Path, manifest: Manifest) -> None:
        path = model_dir / manifest.model_file
        if path.suffix == ".skops":
            model = load_skops(path)
        elif path.suffix in _PICKLE_SUFFIXES:
            if not manifest.allow_pickle:
                raise UnsafeModel(
                    f"{manifest.model_file} is a pickle, which runs code when loaded; this model's "
                    "policy does not allow pickle (it needs allow_pickle in the model's policy, which "
                    "the platform passes as MODELPORT_ALLOW_PICKLE, and in modelport.json; or save "
                    "with skops)")
            import joblib

            log.warning("loading pickled model %s because its policy and manifest allow pickle", manifest.model_file)
            model = joblib.load(path)
        else:
            raise ArtifactError(f"unknown scikit-learn model file type {path.suffix!r} (use .skops)")
        method = getattr(model, manifest.predict_method, None)
        if method is None:
            raise ArtifactError(f"the model has no {manifest.predict_method}() method")
        self._model, self._predict = model, method
        self._frame = _frame_columns(model, manifest)
        self.table = self._frame is not None
        if manifest.predict_method == "predict" and hasattr(model, "predict_proba") and hasattr(model, "classes_"):
            self.classes = np.asarray(model.classes_)
        if self.table:
            # unseen categories are expected at serving time; the encoder handles them
            warnings.filterwarnings("ignore", message="Found unknown categories", category=UserWarning)
        try:
            from sklearn.utils import get_tags

            self._allow_nan = bool(get_tags(model).input_tags.allow_nan)
            self._own_checks = not self.table
        except Exception:  # noqa: BLE001 - unknown estimator: leave every check to sklearn
            self._own_checks = False

    def _input(self, batch: Batch):
        if not getattr(_config, "threads", False):
            # OpenMP (HistGradientBoosting, forests' trees) on one thread per predicting
            # thread: for request-sized batches thread start-up costs more than the work,
            # 20x more under load (benchmarks/training); the server's workers use the cores.
            # The limit is per thread in OpenMP, hence set here, on the thread that predicts.
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="openmp")
            _config.threads = True
        if self._frame is None:
            return single_array(batch, "scikit-learn")
        import pandas as pd

        if isinstance(batch, dict):
            return pd.DataFrame(batch, columns=self._frame, copy=False)
        return pd.DataFrame(batch, columns=self._frame)

    def predict_proba(self, batch: Batch) -> np.ndarray:
        return self._model.predict_proba(self._input(batch))

    def predict_both(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        X = self._input(batch)
        model = self._model
        steps = getattr(model, "steps", None)
        if steps and len(steps) > 1:
            # a pipeline: transform once, then both methods of its last step
            X, model = model[:-1].transform(X), model[-1]
        return model.predict(X), model.predict_proba(X)

    def predict(self, batch: Batch) -> np.ndarray:
        X = self._input(batch)
        if self._frame is not None:
            return self._predict(X)
        if self._own_checks and X.dtype.kind in "fiub":
            # scikit-learn's own finiteness check costs ~20 us a call (a fifth of a small
            # model's predict); this one costs ~1 us and then lets sklearn skip its own.
            if not self._allow_nan and X.dtype.kind == "f" and not np.isfinite(X).all():
                raise InvalidInput("the input contains NaN or infinity, which this model does not accept")
            if not getattr(_config, "done", False):
                sklearn.set_config(assume_finite=True)  # thread-local in scikit-learn
                _config.done = True
        return self._predict(X)


def _frame_columns(model, manifest: Manifest) -> list[str] | None:
    """The column order of a model fitted on a DataFrame whose columns the signature names."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        return None
    names = [str(n) for n in fitted]
    declared = [s.name for s in manifest.signature.inputs]
    if sorted(declared) != sorted(names) or any(len(s.shape) > 1 for s in manifest.signature.inputs):
        log.warning("the model was fitted on a table, but the signature's inputs do not name its "
                    "columns one for one (each with shape [-1]); it gets plain arrays")
        return None
    return names
