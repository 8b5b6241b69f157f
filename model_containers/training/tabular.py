"""The reference trainer: a scikit-learn pipeline for a CSV or Parquet table.

Hyperparameters (all optional; SageMaker passes them as strings):

* ``target``: label column (default: the last column);
* ``channel``: input channel (default ``train``, or the only channel there is);
* ``task``: ``classification`` or ``regression`` (default: told from the label: text,
  booleans and integers with at most 20 distinct values are classes);
* ``estimator``: ``hist_gradient_boosting`` (the default), ``random_forest`` or ``linear``;
* ``seed`` (default 0), ``test_size`` (default 0.2): the deterministic, stratified holdout
  split; a ``validation`` channel, when present, is the holdout instead;
* ``kfold``: ``auto`` (default: a 5-fold estimate below 10,000 rows), ``true`` or ``false``;
* ``class_weight``: ``auto`` (default: balanced when the largest class outnumbers the
  smallest 3 to 1), ``balanced`` or ``none``;
* ``drop``, ``categorical``, ``numeric``: columns to leave out, or to treat as categories
  or as numbers (a JSON list, or names separated by commas); ``max_categories`` (100):
  text columns with more distinct values are refused as free text;
* per estimator (:data:`~model_containers.training.estimators.PARAMS`): ``learning_rate``,
  ``max_iter``, ``max_leaf_nodes``, ``max_depth``, ``min_samples_leaf``, ``l2_regularization``,
  ``n_estimators``, ``C``, ``alpha``.

Writes ``model.skops`` (the whole pipeline: column handling and model), ``metrics.json``
(:mod:`~model_containers.training.evaluation`), ``baseline.json`` (the training data's
profile, for drift monitoring) and ``modelport.json`` (file hashes, the signature with
every input column's dtype and categories, and the classes): a directory the inference
server serves as it is. Every problem with the data is a :class:`TrainingError` naming
the column and what to do.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from model_containers import artifact
from model_containers.errors import TrainingError
from model_containers.training import columns as cols
from model_containers.training import estimators as est
from model_containers.training.contract import TrainingContext
from model_containers.training.evaluation import KFOLD_MAX_ROWS, finite, kfold, scores

_READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
MAX_CLASS_LABELS = 20
MIN_ROWS = 10
SMALL_ROWS = 50_000
_OWN = {"target", "channel", "task", "estimator", "seed", "test_size", "kfold", "class_weight",
        "drop", "categorical", "numeric", "max_categories", "entry_point"}


def read_table(channel_dir: Path):
    """Every CSV/Parquet file of a channel (sorted by name), as one DataFrame."""
    import pandas as pd

    files = sorted(p for p in channel_dir.rglob("*") if p.is_file() and p.suffix.lower() in _READERS)
    if not files:
        raise TrainingError(f"channel '{channel_dir.name}' holds no .csv or .parquet file")
    frames = []
    for f in files:
        try:
            frames.append(pd.read_csv(f) if _READERS[f.suffix.lower()] == "csv" else pd.read_parquet(f))
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            # pandas' parser names the line and field counts, never the data
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise TrainingError(f"cannot read {f.name}: {first}") from None
    try:
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    except (ValueError, TypeError):
        raise TrainingError(f"the files of channel '{channel_dir.name}' do not share their columns") from None
    if df.empty:
        raise TrainingError(f"channel '{channel_dir.name}' holds no rows")
    df.columns = [str(c) for c in df.columns]
    return df


def check_hyperparameters(hps: dict) -> None:
    known = _OWN | {hp for params in est.PARAMS.values() for hp in params}
    unknown = sorted(k for k in hps if k not in known and not k.startswith("sagemaker_"))
    if unknown:
        raise TrainingError(f"unknown hyperparameter {unknown[0]!r}; the reference trainer takes "
                            + ", ".join(sorted(known - {"entry_point"})))


def _int_hp(ctx: TrainingContext, name: str, default: int, low: int = 0) -> int:
    value = ctx.hp(name, default)
    try:
        number = int(value)
        if number != float(value) or number < low:
            raise ValueError
    except (TypeError, ValueError):
        raise TrainingError(f"hyperparameter {name} must be an integer of at least {low}") from None
    return number


def _task(ctx: TrainingContext, y) -> str:
    task = ctx.hp("task")
    if task in ("classification", "regression"):
        return task
    if task is not None:
        raise TrainingError("hyperparameter task must be classification or regression")
    kind = y.dtype.kind
    if kind in "OUSb" or str(y.dtype) in ("category", "str", "string"):
        return "classification"
    values = y.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)) and len(np.unique(values)) <= MAX_CLASS_LABELS:
        return "classification"
    return "regression"


def _split(ctx, X, y, task: str, seed: int):
    from sklearn.model_selection import train_test_split

    test_size = ctx.hp("test_size", 0.2)
    try:
        test_size = float(test_size)
    except (TypeError, ValueError):
        test_size = -1.0
    if not 0 < test_size < 1:
        raise TrainingError("hyperparameter test_size must be a number between 0 and 1")
    stratify = None
    if task == "classification":
        counts = np.unique(y, return_counts=True)[1]
        if counts.min() >= 2:
            stratify = y
        else:
            ctx.log("a class has a single row: the holdout is not stratified")
    try:
        return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=stratify)
    except ValueError:
        raise TrainingError(f"{len(y)} rows are not enough for a holdout of test_size={test_size}") from None


def _labels(ctx: TrainingContext, df, target: str):
    series = df[target]
    missing = int(series.isna().sum())
    if missing == len(df):
        raise TrainingError(f"the target column '{target}' has no values")
    if missing:
        ctx.log(f"{missing} rows have no value in the target '{target}': left out")
        df = df[series.notna()].reset_index(drop=True)
        series = df[target]
    task = _task(ctx, series)
    y = cols.label_values(series, task)
    if task == "classification":
        classes = np.unique(y)
        if len(classes) < 2:
            raise TrainingError(f"the target '{target}' has a single class in all {len(y)} rows: a "
                                "classifier needs at least two (or set task=regression for numbers)")
        if len(classes) > 200:
            raise TrainingError(f"the target '{target}' has {len(classes)} classes: set task=regression "
                                "if it is a quantity")
    return df, y, task


def train_tabular(ctx: TrainingContext) -> dict:
    """Train, evaluate on the holdout and write a servable artifact; returns the manifest."""
    from model_containers.runtimes.sklearn import import_skops

    sio = import_skops()
    check_hyperparameters(ctx.hyperparameters)
    channels = ctx.channels
    name = ctx.hp("channel") or ("train" if "train" in channels or len(channels) != 1 else next(iter(channels)))
    df = read_table(ctx.channel(str(name)))
    target = str(ctx.hp("target") or df.columns[-1])
    if target not in df.columns:
        raise TrainingError(f"target column '{target}' is not in the data (columns: "
                            + ", ".join(list(df.columns)[:20]) + ")")
    seed = _int_hp(ctx, "seed", 0)
    kind = str(ctx.hp("estimator", est.DEFAULT_ESTIMATOR))
    if kind not in est.ESTIMATORS:
        raise TrainingError("estimator must be " + ", ".join(est.ESTIMATORS[:-1]) + " or " + est.ESTIMATORS[-1])
    df, y, task = _labels(ctx, df, target)
    if len(df) < MIN_ROWS:
        raise TrainingError(f"the table has {len(df)} rows with a target value; the reference trainer "
                            f"needs at least {MIN_ROWS}")
    plan = cols.plan_table(df, target, drop=cols.names_list(ctx.hp("drop"), "drop"),
                           categorical=cols.names_list(ctx.hp("categorical"), "categorical"),
                           numeric=cols.names_list(ctx.hp("numeric"), "numeric"),
                           max_categories=_int_hp(ctx, "max_categories", cols.MAX_CATEGORIES, 2))
    ctx.log(f"read {len(df)} rows from channel '{name}': target '{target}' ({task}), "
            + "; ".join(f"{k} {', '.join(plan.of(k))}" for k in ("numeric", "categorical", "boolean", "datetime")
                        if plan.of(k)))
    for role in plan.roles:
        if role.kind == "ignored":
            ctx.log(f"column '{role.name}' is ignored: it has {role.note} in every row")
    X = cols.prepare(df, plan)
    params = est.estimator_params(kind, ctx.hyperparameters)
    weight = est.class_weight_for(y, str(ctx.hp("class_weight", "auto")), ctx.log) if task == "classification" else None
    pipeline = est.build_pipeline(plan, task, kind, seed=seed, class_weight=weight, params=params)

    if "validation" in channels:
        val = read_table(channels["validation"])
        missing = [c for c in [*plan.inputs, target] if c not in val.columns]
        if missing:
            raise TrainingError(f"validation data lacks columns: {', '.join(missing)}")
        val, y_test, _ = _labels(ctx, val, target)
        X_train, y_train, X_test = X, y, cols.prepare(val, plan)
    else:
        X_train, X_test, y_train, y_test = _split(ctx, X, y, task, seed)
    run_kfold = ctx.hp("kfold", "auto")
    run_kfold = {"true": True, "false": False}.get(str(run_kfold).lower(), run_kfold)
    if run_kfold not in ("auto", True, False):
        raise TrainingError("hyperparameter kfold must be auto, true or false")
    # On small tables OpenMP's thread start-up costs more than the work (HistGradientBoosting
    # fits 3-8x faster on one thread, more so on a busy machine).
    with threadpool_limits(1 if len(X) < SMALL_ROWS else None):
        started = time.perf_counter()
        ctx.log(f"fitting {kind} {task} pipeline on {len(X_train)} rows (seed {seed})")
        model = _guard(lambda: pipeline.fit(X_train, y_train))
        fit_s = time.perf_counter() - started
        metrics = scores(task, model, X_test, y_test)
        if run_kfold is True or (run_kfold == "auto" and len(X) < KFOLD_MAX_ROWS):
            metrics.update(_guard(lambda: kfold(task, pipeline, X, y, seed=seed, log=ctx.log)))
    metrics = finite(metrics)
    metrics.update(n_train=len(X_train), n_test=len(X_test))
    ctx.log(f"fitted in {fit_s:.2f}s; holdout metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    return _write(ctx, sio, model, plan, df, X, y, task, kind, seed, weight, metrics)


def _guard(call):
    """Run a scikit-learn call; its errors become one line naming what failed, not a traceback."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise TrainingError(f"scikit-learn could not fit this table: {first}") from None


def _write(ctx, sio, model, plan, df, X, y, task, kind, seed, weight, metrics) -> dict:
    out = ctx.model_dir
    out.mkdir(parents=True, exist_ok=True)
    sio.dump(model, out / "model.skops")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _baseline(ctx, out, model, plan, df, X, y, task)
    label: dict = {"name": plan.target, "dtype": _label_dtype(y), "shape": [-1]}
    if task == "classification":
        label["categories"] = [v.item() if hasattr(v, "item") else v for v in model.classes_]
    signature = {"inputs": plan.signature_inputs(), "outputs": [label]}
    manifest = artifact.write_manifest(
        out, framework="sklearn", model_file="model.skops", signature=signature, metrics=metrics,
        extra={"training": {"task": task, "seed": seed, "target": plan.target, "estimator": kind,
                            "class_weight": weight, "dropped": list(plan.dropped),
                            "ignored": plan.of("ignored")}})
    ctx.log(f"wrote model.skops, metrics.json, baseline.json and modelport.json to {out}")
    return manifest


def _label_dtype(y) -> str:
    if y.dtype.kind in "OUS":
        return "string"
    return {"b": "bool", "i": "int64", "u": "int64"}.get(y.dtype.kind, "float64")


def _baseline(ctx, out: Path, model, plan, df, X, y, task) -> None:
    """The training data's profile (issue 13's format), as the rows were sent: for drift."""
    from model_containers.monitoring import baseline

    used = [r for r in plan.roles if r.kind != "ignored"]
    categorical = [r.name for r in used if r.kind in ("categorical", "boolean", "datetime")]
    try:
        profile = baseline.profile(df[[r.name for r in used]], predictions=model.predict(X), labels=y,
                                   target=plan.target, categorical=categorical, task=task)
        baseline.write(out, profile)
    except baseline.BaselineError as exc:
        ctx.log(f"no baseline profile written: {exc}")
