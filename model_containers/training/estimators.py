"""The reference trainer's pipelines: a ``ColumnTransformer`` per column role, then the model.

Every part is a scikit-learn class (or :class:`~model_containers.features.DateFeatures`),
saved with skops and loaded by the serving container's allowlist
(:data:`model_containers.runtimes.sklearn.REFERENCE_TRAINER_TYPES` names what these
pipelines need beyond scikit-learn's, numpy's and scipy's classes). The pipeline is
fitted on the frame :func:`model_containers.training.columns.prepare` builds, which is
what the serving runtime builds from each request, so what is served is what was trained.

* ``hist_gradient_boosting`` (default): numbers and booleans as they are (NaN is a value
  the trees route), dates expanded, categories handed to the model's native categorical
  support (an unseen category at serving time is routed like a missing one);
* ``random_forest``: imputed numbers (with missing-value indicators), categories as
  ordinal codes (unseen: -1);
* ``linear``: imputed, scaled numbers; one-hot categories (unseen: all zeros);
  logistic regression or ridge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_containers.errors import TrainingError
from model_containers.training.columns import TablePlan

ESTIMATORS = ("hist_gradient_boosting", "random_forest", "linear")
DEFAULT_ESTIMATOR = "hist_gradient_boosting"
#: per estimator: hyperparameter → (type, estimator parameter)
PARAMS: dict[str, dict[str, tuple[type, str]]] = {
    "hist_gradient_boosting": {"learning_rate": (float, "learning_rate"), "max_iter": (int, "max_iter"),
                               "max_leaf_nodes": (int, "max_leaf_nodes"), "max_depth": (int, "max_depth"),
                               "min_samples_leaf": (int, "min_samples_leaf"),
                               "l2_regularization": (float, "l2_regularization")},
    "random_forest": {"n_estimators": (int, "n_estimators"), "max_depth": (int, "max_depth"),
                      "min_samples_leaf": (int, "min_samples_leaf")},
    "linear": {"C": (float, "C"), "max_iter": (int, "max_iter"), "alpha": (float, "alpha")},
}


def estimator_params(kind: str, hps: dict[str, Any]) -> dict[str, Any]:
    """The estimator's parameters from the hyperparameters that apply to it, typed."""
    out = {}
    for hp, (typ, param) in PARAMS[kind].items():
        if hps.get(hp) is None:
            continue
        try:
            value = typ(hps[hp])
        except (TypeError, ValueError):
            raise TrainingError(f"hyperparameter {hp} must be {'an integer' if typ is int else 'a number'}") from None
        if typ is int and value != float(hps[hp]):
            raise TrainingError(f"hyperparameter {hp} must be an integer")
        if value <= 0 and hp != "l2_regularization" or value < 0:
            raise TrainingError(f"hyperparameter {hp} must be positive")
        out[param] = value
    return out


def build_pipeline(plan: TablePlan, task: str, kind: str, *, seed: int, class_weight: str | None,
                   params: dict[str, Any]):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    blocks, categorical_at = _blocks(plan, kind)
    features = ColumnTransformer(blocks, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)
    model = _model(task, kind, seed=seed, class_weight=class_weight, params=params, categorical_at=categorical_at)
    return Pipeline([("features", features), ("model", model)])


def _blocks(plan: TablePlan, kind: str) -> tuple[list, list[int]]:
    """ColumnTransformer blocks, and where the categorical columns land in its output."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from model_containers.features import DateFeatures

    numeric, booleans = plan.of("numeric"), plan.of("boolean")
    dates, categories = plan.of("datetime"), plan.of("categorical")
    blocks: list = []
    width = 0
    if kind == "hist_gradient_boosting":
        if numeric or booleans:
            blocks.append(("numbers", "passthrough", numeric + booleans))
            width += len(numeric) + len(booleans)
        if dates:
            blocks.append(("dates", DateFeatures(), dates))
        if categories:
            # after the numbers; dates come last so the positions below need no fitting
            blocks.insert(len(blocks) - (1 if dates else 0), ("categories", "passthrough", categories))
            return blocks, list(range(width, width + len(categories)))
        return blocks, []
    impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=False)
    if kind == "linear":
        if numeric:
            blocks.append(("numbers", make_pipeline(impute, StandardScaler()), numeric))
        if booleans:
            blocks.append(("booleans", SimpleImputer(strategy="most_frequent"), booleans))
        if dates:
            blocks.append(("dates", make_pipeline(DateFeatures(), SimpleImputer(strategy="median"),
                                                  StandardScaler()), dates))
        if categories:
            blocks.append(("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories))
        return blocks, []
    if numeric:
        blocks.append(("numbers", impute, numeric))
    if booleans:
        blocks.append(("booleans", SimpleImputer(strategy="most_frequent"), booleans))
    if dates:
        blocks.append(("dates", make_pipeline(DateFeatures(), SimpleImputer(strategy="median")), dates))
    if categories:
        blocks.append(("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                    encoded_missing_value=-1), categories))
    return blocks, []


def _model(task: str, kind: str, *, seed: int, class_weight: str | None, params: dict[str, Any],
           categorical_at: list[int]):
    classify = task == "classification"
    if kind == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        common = {"random_state": seed, "categorical_features": categorical_at or None, **params}
        if classify:
            return HistGradientBoostingClassifier(class_weight=class_weight, **common)
        return HistGradientBoostingRegressor(**common)
    if kind == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        common = {"random_state": seed, "n_jobs": 1, **params}
        if classify:
            return RandomForestClassifier(class_weight=class_weight, **common)
        return RandomForestRegressor(**common)
    from sklearn.linear_model import LogisticRegression, Ridge

    if classify:
        params.pop("alpha", None)
        return LogisticRegression(random_state=seed, class_weight=class_weight,
                                  **{"max_iter": 1000, **params})
    return Ridge(**{k: v for k, v in params.items() if k == "alpha"})


def class_weight_for(y, setting: str, log) -> str | None:
    """``balanced`` when the largest class outnumbers the smallest 3 to 1 (``auto``), or as told."""
    if setting == "balanced":
        return "balanced"
    if setting == "none":
        return None
    if setting != "auto":
        raise TrainingError("hyperparameter class_weight must be auto, balanced or none")
    _, counts = np.unique(y, return_counts=True)
    ratio = counts.max() / counts.min()
    if ratio >= 3:
        log(f"classes are imbalanced ({ratio:.1f} to 1): weighting them (class_weight=balanced)")
        return "balanced"
    return None
