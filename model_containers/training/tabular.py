"""The reference trainer: scikit-learn on a CSV or Parquet table.

Hyperparameters (all optional; SageMaker passes them as strings):

* ``target``: label column (default: the last column);
* ``channel``: input channel (default ``train``, or the only channel there is);
* ``task``: ``classification`` or ``regression`` (default: guessed from the label);
* ``estimator``: ``linear`` (logistic/ridge, the default) or ``random_forest``;
* ``seed`` (default 0), ``test_size`` (default 0.2): the deterministic holdout split;
  a ``validation`` channel, when present, is the holdout instead;
* ``C``, ``max_iter``, ``alpha``, ``n_estimators``, ``max_depth``: passed to the estimator.

Writes ``model.skops``, ``metrics.json`` and ``modelport.json`` (file hashes, a signature
inferred from the data, metrics): a directory the inference server serves as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model_containers import artifact
from model_containers.errors import TrainingError
from model_containers.manifest import DTYPE_ALIASES
from model_containers.training.contract import TrainingContext

_READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(channel_dir: Path):
    """Every CSV/Parquet file of a channel (sorted by name), as one DataFrame."""
    import pandas as pd

    files = sorted(p for p in channel_dir.rglob("*") if p.is_file() and p.suffix.lower() in _READERS)
    if not files:
        raise TrainingError(f"channel '{channel_dir.name}' holds no .csv or .parquet file")
    frames = [pd.read_csv(f) if _READERS[f.suffix.lower()] == "csv" else pd.read_parquet(f) for f in files]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if df.empty:
        raise TrainingError(f"channel '{channel_dir.name}' holds no rows")
    return df


def _features(df, target: str) -> tuple[list[str], list[str]]:
    if target not in df.columns:
        raise TrainingError(f"target column '{target}' is not in the data")
    features = [str(c) for c in df.columns if c != target]
    if not features:
        raise TrainingError("the data has no feature columns besides the target")
    dtypes = []
    for col in features:
        kind = df[col].dtype.kind
        if kind not in "iufb":
            raise TrainingError(f"feature column '{col}' is not numeric; the reference trainer takes "
                                "numeric features (encode it, or bring a train.py)")
        # pandas' nullable names (Int64, Float32, boolean) map to the numpy ones.
        dtypes.append(DTYPE_ALIASES.get(df[col].dtype.name.lower(), "float64"))
    return features, dtypes


def _task(ctx: TrainingContext, y) -> str:
    task = ctx.hp("task")
    if task in ("classification", "regression"):
        return task
    if task is not None:
        raise TrainingError("task must be classification or regression")
    if y.dtype.kind in "OUSb" or (y.dtype.kind in "iu" and len(np.unique(y)) <= 20):
        return "classification"
    return "regression"


def _estimator(ctx: TrainingContext, task: str, seed: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kind = ctx.hp("estimator", "linear")
    pick = {k: ctx.hp(k) for k in ("C", "max_iter", "alpha", "n_estimators", "max_depth")
            if ctx.hp(k) is not None}
    if kind == "linear":
        if task == "classification":
            model = LogisticRegression(C=float(pick.get("C", 1.0)), max_iter=int(pick.get("max_iter", 1000)),
                                       random_state=seed)
        else:
            model = Ridge(alpha=float(pick.get("alpha", 1.0)))
        return make_pipeline(StandardScaler(), model)
    if kind == "random_forest":
        cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        depth = pick.get("max_depth")
        return cls(n_estimators=int(pick.get("n_estimators", 100)),
                   max_depth=int(depth) if depth is not None else None, random_state=seed, n_jobs=1)
    raise TrainingError("estimator must be linear or random_forest")


def _metrics(task: str, model, X, y) -> dict[str, float]:
    from sklearn import metrics as m

    pred = model.predict(X)
    if task == "regression":
        return {"r2": float(m.r2_score(y, pred)),
                "rmse": float(np.sqrt(m.mean_squared_error(y, pred))),
                "mae": float(m.mean_absolute_error(y, pred))}
    out = {"accuracy": float(m.accuracy_score(y, pred)),
           "f1_macro": float(m.f1_score(y, pred, average="macro"))}
    if len(getattr(model, "classes_", [])) == 2 and len(np.unique(y)) == 2:
        out["roc_auc"] = float(m.roc_auc_score(y, model.predict_proba(X)[:, 1]))
    return out


def train_tabular(ctx: TrainingContext) -> dict:
    """Train, evaluate on the holdout and write a servable artifact; returns the manifest."""
    from sklearn.model_selection import train_test_split

    from model_containers.runtimes.sklearn import import_skops

    sio = import_skops()

    channels = ctx.channels
    name = ctx.hp("channel") or ("train" if "train" in channels or len(channels) != 1 else next(iter(channels)))
    df = read_table(ctx.channel(str(name)))
    target = str(ctx.hp("target") or df.columns[-1])
    features, dtypes = _features(df, target)
    seed = int(ctx.hp("seed", 0))
    ctx.log(f"read {len(df)} rows from channel '{name}': {len(features)} features, target '{target}'")
    X = df[features].to_numpy(dtype=np.float64)
    y = df[target].to_numpy()
    if df[target].isna().any():
        raise TrainingError(f"target column '{target}' has missing values")
    task = _task(ctx, y)
    if "validation" in channels:
        val = read_table(channels["validation"])
        missing = [c for c in [*features, target] if c not in val.columns]
        if missing:
            raise TrainingError(f"validation data lacks columns: {', '.join(missing)}")
        X_train, y_train = X, y
        X_test, y_test = val[features].to_numpy(dtype=np.float64), val[target].to_numpy()
    else:
        test_size = float(ctx.hp("test_size", 0.2))
        if not 0 < test_size < 1:
            raise TrainingError("test_size must be between 0 and 1")
        stratify = y if task == "classification" and min(np.unique(y, return_counts=True)[1]) >= 2 else None
        try:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=test_size, random_state=seed, stratify=stratify)
        except ValueError:
            raise TrainingError("not enough rows for a holdout split") from None
    model = _estimator(ctx, task, seed)
    ctx.log(f"fitting {task} model {type(model).__name__} on {len(X_train)} rows (seed {seed})")
    model.fit(X_train, y_train)
    metrics = _metrics(task, model, X_test, y_test)
    metrics.update(n_train=len(X_train), n_test=len(X_test))
    ctx.log("holdout metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    out = ctx.model_dir
    out.mkdir(parents=True, exist_ok=True)
    sio.dump(model, out / "model.skops")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    sample = model.predict(X_test[:1])
    pred_dtype = "string" if sample.dtype.kind in "OUS" else sample.dtype.name
    signature = {"inputs": [{"name": f, "dtype": d, "shape": [-1]} for f, d in zip(features, dtypes)],
                 "outputs": [{"name": target, "dtype": pred_dtype, "shape": [-1]}]}
    manifest = artifact.write_manifest(out, framework="sklearn", model_file="model.skops",
                                       signature=signature, metrics=metrics,
                                       extra={"training": {"task": task, "seed": seed, "target": target}})
    ctx.log(f"wrote model.skops, metrics.json and modelport.json to {out}")
    return manifest
