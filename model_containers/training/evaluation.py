"""Metrics of the reference trainer: on the seeded holdout, and a k-fold estimate.

Classification: ``accuracy``, ``balanced_accuracy``, ``f1_macro``, ``roc_auc`` (one-vs-rest
for several classes), ``log_loss``. Regression: ``rmse``, ``mae``, ``r2``. Each holdout
metric has its k-fold mean as ``cv_<metric>`` (and spread as ``cv_<metric>_std``) when
the table has fewer than :data:`KFOLD_MAX_ROWS` rows. Any of them can be a model
policy's ``metric``; ``log_loss``, ``rmse`` and ``mae`` are better when lower
(:data:`LOWER_IS_BETTER`).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

CLASSIFICATION = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
REGRESSION = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
KFOLD_MAX_ROWS = 10_000
FOLDS = 5


def scores(task: str, model, X, y) -> dict[str, float]:
    """Every metric of ``task`` for a fitted ``model`` on ``(X, y)``; NaN where undefined."""
    from sklearn import metrics as m

    if task == "regression":
        pred = model.predict(X)
        return {"rmse": float(np.sqrt(m.mean_squared_error(y, pred))),
                "mae": float(m.mean_absolute_error(y, pred)),
                "r2": float(m.r2_score(y, pred)) if len(y) > 1 else math.nan}
    classes = model.classes_
    proba = model.predict_proba(X)
    pred = model.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a class absent from this fold
        out = {"accuracy": float(m.accuracy_score(y, pred)),
               "balanced_accuracy": float(m.balanced_accuracy_score(y, pred)),
               "f1_macro": float(m.f1_score(y, pred, average="macro", labels=np.unique(y))),
               "log_loss": float(m.log_loss(y, proba, labels=classes))}
        present = np.unique(y)
        if len(present) < 2 or len(present) < len(classes) and len(classes) > 2:
            out["roc_auc"] = math.nan  # one-vs-rest needs every class in the holdout
        elif len(classes) == 2:
            out["roc_auc"] = float(m.roc_auc_score(y, proba[:, 1], labels=classes))
        else:
            out["roc_auc"] = float(m.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return out


def kfold(task: str, pipeline, X, y, *, seed: int, log) -> dict[str, float]:
    """``cv_<metric>`` means and spreads over :data:`FOLDS` folds (stratified for classes)."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = FOLDS
    if task == "classification":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        folds = min(FOLDS, smallest)
        if folds < 2:
            log("k-fold estimate skipped: a class has a single row")
            return {}
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold: dict[str, list[float]] = {}
    started = time.perf_counter()
    for i, (train, test) in enumerate(splitter.split(X, y), start=1):
        fitted = clone(pipeline).fit(X.iloc[train], y[train])
        for name, value in scores(task, fitted, X.iloc[test], y[test]).items():
            per_fold.setdefault(name, []).append(value)
        log(f"k-fold estimate: fold {i}/{folds} done ({time.perf_counter() - started:.1f}s)")
    out: dict[str, float] = {"cv_folds": float(folds)}
    for name, values in per_fold.items():
        known = [v for v in values if not math.isnan(v)]
        if known:
            out[f"cv_{name}"] = float(np.mean(known))
            out[f"cv_{name}_std"] = float(np.std(known))
    return out


def finite(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics as ``metrics.json`` holds them: NaN (undefined) left out."""
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}
