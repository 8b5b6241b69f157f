"""scikit-learn runtime: skops files by default, joblib/pickle only when policy allows."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from pathlib import Path

import numpy as np
import sklearn

from model_containers.errors import ArtifactError, InvalidInput, UnsafeModel
from model_containers.manifest import Manifest
from model_containers.runtimes import Batch, Runtime, single_array

log = logging.getLogger(__name__)

# Modules whose *classes* an estimator is expected to be made of. skops already trusts most
# of scikit-learn; what it reports as untrusted (tree structures, histogram predictors...)
# is accepted only when it resolves to a class of these packages. Functions are never
# accepted here: a function reference in a file is how a loader gets made to call code.
_TRUSTED_ROOTS = ("sklearn", "numpy", "scipy")
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
_config = threading.local()


def _is_expected_class(type_name: str) -> bool:
    module_name, _, attr = type_name.rpartition(".")
    if module_name.split(".", 1)[0] not in _TRUSTED_ROOTS:
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


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
    """Load a skops file, trusting only scikit-learn/numpy/scipy classes; refuse the rest."""
    sio = import_skops()

    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(t for t in untrusted if not _is_expected_class(t))
    if refused:
        raise UnsafeModel(
            "skops file references types that are not scikit-learn estimator parts: "
            + ", ".join(refused))
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
        self._predict = method
        try:
            from sklearn.utils import get_tags

            self._allow_nan = bool(get_tags(model).input_tags.allow_nan)
            self._own_checks = True
        except Exception:  # noqa: BLE001 - unknown estimator: leave every check to sklearn
            self._own_checks = False

    def predict(self, batch: Batch) -> np.ndarray:
        X = single_array(batch, "scikit-learn")
        if self._own_checks and X.dtype.kind in "fiub":
            # scikit-learn's own finiteness check costs ~20 us a call (a fifth of a small
            # model's predict); this one costs ~1 us and then lets sklearn skip its own.
            if not self._allow_nan and X.dtype.kind == "f" and not np.isfinite(X).all():
                raise InvalidInput("the input contains NaN or infinity, which this model does not accept")
            if not getattr(_config, "done", False):
                sklearn.set_config(assume_finite=True)  # thread-local in scikit-learn
                _config.done = True
        return self._predict(X)
