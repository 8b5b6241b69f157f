"""Baseline profiles: what the drift job compares live traffic with (docs/contracts.md,
"Baseline profile").

A profile describes a version's training data per feature (numeric: quantiles, an
equal-frequency binning for PSI/JS and a display histogram; categorical: category counts)
and the model's outputs on it. It is `baseline.json` inside the model artifact, so it is
covered by `modelport.json`'s file hashes and the artifact's SHA-256, and its own SHA-256
goes into the version's lineage (`lineage.baseline_sha256`).

numpy and pandas only (no scipy): the SDK and the CLI (`modelport push --baseline`) build
profiles too.

How the reference trainer calls it, after fitting and before `artifact.write_manifest`
(which hashes every file of the directory, `baseline.json` included)::

    from model_containers.monitoring import baseline

    profile = baseline.profile(
        df[features],                      # the training table's feature columns
        predictions=model.predict(df[features]),
        labels=df[target],
        target=target,
        categorical=categorical_columns,   # object/category/bool columns are found anyway
        task=task,                         # "classification" → outputs profiled as categories
    )
    baseline.write(model_dir, profile)     # model_dir/baseline.json
    lineage_sha = baseline.digest(model_dir)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
BASELINE_FILE = "baseline.json"
#: stored quantiles: 0 %, 1 %, ..., 100 % of the non-missing values.
QUANTILE_PROBS = tuple(i / 100 for i in range(101))
#: equal-frequency bins (from the deciles) for PSI and Jensen–Shannon.
STAT_BINS = 10
#: equal-width bins between min and max, for the report's plots.
HISTOGRAM_BINS = 20
#: categories kept per categorical feature; rarer ones are counted together as `other`.
MAX_CATEGORIES = 200
#: integer-valued outputs with at most this many distinct values are classes.
MAX_CLASSES = 20
KINDS = ("numeric", "categorical")


class BaselineError(ValueError):
    """The data cannot be profiled, or a stored profile is malformed."""


def profile(
    features: Any,
    *,
    predictions: Any = None,
    labels: Any = None,
    target: str | None = None,
    categorical: Iterable[str] = (),
    task: str | None = None,
) -> dict[str, Any]:
    """The baseline profile of a training table (a pandas DataFrame of feature columns).

    `predictions` are the model's outputs on those rows (one value per row, or one row of
    values per row, e.g. class probabilities), `labels` the true targets. Columns of
    object, string, category or bool dtype are categorical, so are those named in
    `categorical`; all other numeric columns are numeric. `task="classification"`
    profiles predictions and labels as categories, `"regression"` as numbers; without it
    integer or string outputs with few distinct values are taken for classes.
    """
    import pandas as pd

    if not isinstance(features, pd.DataFrame):
        raise BaselineError("features must be a pandas DataFrame")
    if features.empty or not len(features.columns):
        raise BaselineError("the training data has no rows or no columns")
    wanted = set(categorical)
    unknown = wanted - {str(c) for c in features.columns}
    if unknown:
        raise BaselineError(f"categorical columns not in the data: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "rows": len(features),
        "target": target,
        "features": {
            str(name): profile_column(features[name], categorical=str(name) in wanted or None)
            for name in features.columns
        },
        "outputs": {},
        "label": None,
    }
    output_kind = {"classification": True, "regression": False}.get(task or "")
    if predictions is not None:
        out["outputs"] = _outputs(predictions, len(features), output_kind)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[:1] != (len(features),):
            raise BaselineError("labels must have one value per row of the features")
        out["label"] = profile_column(labels, categorical=_classes(labels, output_kind))
    return out


def _outputs(predictions: Any, rows: int, classes: bool | None) -> dict[str, dict]:
    if isinstance(predictions, Mapping):
        named = {str(k): np.asarray(v) for k, v in predictions.items()}
    else:
        arr = np.asarray(predictions)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim == 2:
            # several values per row (e.g. probabilities): one numeric output per column
            return {f"prediction[{j}]": profile_column(arr[:, j], categorical=False)
                    for j in range(arr.shape[1])}
        named = {"prediction": arr}
    result = {}
    for name, arr in named.items():
        if arr.ndim != 1 or len(arr) != rows:
            raise BaselineError(f"output {name!r} must have one value per row of the features")
        result[name] = profile_column(arr, categorical=_classes(arr, classes))
    return result


def _classes(arr: np.ndarray, classes: bool | None) -> bool:
    if classes is not None:
        return classes
    if arr.dtype.kind in "OUSb":
        return True
    return arr.dtype.kind in "iu" and len(np.unique(arr)) <= MAX_CLASSES


def profile_column(values: Any, *, categorical: bool | None = None) -> dict[str, Any]:
    """One column's profile; `categorical=None` decides from the dtype."""
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    dtype = getattr(values, "dtype", arr.dtype)
    if categorical is None:
        categorical = getattr(dtype, "kind", "O") not in "iuf"
    if categorical:
        return _categorical(arr, str(dtype))
    try:
        numbers = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise BaselineError("a numeric column holds values that are not numbers") from None
    return _numeric(numbers, str(dtype))


def _numeric(values: np.ndarray, dtype: str) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    missing = int(len(values) - len(finite))
    if not len(finite):
        raise BaselineError("a numeric column has no values")
    quantiles = np.quantile(finite, QUANTILE_PROBS, method="inverted_cdf")
    edges = np.unique(np.quantile(finite, [i / STAT_BINS for i in range(1, STAT_BINS)], method="inverted_cdf"))
    low, high = float(finite.min()), float(finite.max())
    display = np.linspace(low, high, HISTOGRAM_BINS + 1) if high > low else np.array([low - 0.5, high + 0.5])
    return {
        "kind": "numeric", "dtype": dtype, "count": len(values), "missing": missing,
        "mean": _num(finite.mean()), "std": _num(finite.std()), "min": low, "max": high,
        "quantiles": [float(q) for q in quantiles],
        "bins": {"edges": [float(e) for e in edges], "counts": bin_counts(edges, finite).tolist()},
        "histogram": {"edges": [float(e) for e in display],
                      "counts": histogram_counts(display, finite).tolist()},
    }  # fmt: skip


def _categorical(values: np.ndarray, dtype: str) -> dict[str, Any]:
    keys = [category_key(v) for v in values.tolist()]
    present = [k for k in keys if k is not None]
    if not present:
        raise BaselineError("a categorical column has no values")
    names, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    kept = order[:MAX_CATEGORIES]
    return {
        "kind": "categorical", "dtype": dtype, "count": len(keys), "missing": len(keys) - len(present),
        "categories": {str(names[i]): int(counts[i]) for i in kept},
        "other": int(counts[order[MAX_CATEGORIES:]].sum()), "cardinality": len(names),
    }  # fmt: skip


def category_key(value: Any) -> str | None:
    """The string a category is stored and compared as (None: missing).

    `1`, `1.0` and `"1"` are one category, as are `True` and `"True"`: a CSV or JSON body
    may carry a category as a number where training read it as text, or the reverse.
    """
    if type(value) is str:  # the common case, first
        return value or None
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    return text if text != "" else None


def bin_counts(edges: Sequence[float] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts in the bins (-inf, e0), [e0, e1), ..., [e_last, inf): open at both ends, so
    values outside the training range still fall in a bin."""
    edges = np.asarray(edges, dtype=np.float64)
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


def histogram_counts(edges: Sequence[float] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts in the display histogram's bins; values outside the range count in the end bins."""
    edges = np.asarray(edges, dtype=np.float64)
    clipped = np.clip(values, edges[0], edges[-1])
    return np.histogram(clipped, bins=edges)[0]


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --- files ----------------------------------------------------------------------------------


def dumps(baseline: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a profile (what `baseline.json` holds and lineage hashes)."""
    return json.dumps(baseline, separators=(",", ":"), allow_nan=False).encode()


def write(model_dir: str | Path, baseline: Mapping[str, Any]) -> Path:
    """Write `baseline.json` into the artifact directory (before `write_manifest`)."""
    validate(baseline)
    path = Path(model_dir) / BASELINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dumps(baseline))
    return path


def digest(model_dir: str | Path) -> str:
    """SHA-256 (hex) of the directory's `baseline.json`: `lineage.baseline_sha256`."""
    return hashlib.sha256((Path(model_dir) / BASELINE_FILE).read_bytes()).hexdigest()


def read(path: str | Path) -> dict[str, Any]:
    """A profile from `baseline.json` (or from a directory holding one), validated."""
    path = Path(path)
    if path.is_dir():
        path = path / BASELINE_FILE
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise BaselineError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise BaselineError(f"{path} is not JSON") from None
    validate(data)
    return data


def validate(data: Any) -> None:
    """Raise BaselineError naming the first thing wrong with a profile."""
    if not isinstance(data, Mapping) or data.get("format_version") != FORMAT_VERSION:
        raise BaselineError(f"not a baseline profile of format_version {FORMAT_VERSION}")
    features = data.get("features")
    if not isinstance(features, Mapping) or not features:
        raise BaselineError("a baseline needs at least one feature")
    columns = [("features", n, p) for n, p in features.items()]
    columns += [("outputs", n, p) for n, p in (data.get("outputs") or {}).items()]
    if data.get("label") is not None:
        columns.append(("label", "label", data["label"]))
    for where, name, column in columns:
        _validate_column(f"{where}.{name}", column)


def _validate_column(where: str, column: Any) -> None:
    if not isinstance(column, Mapping) or column.get("kind") not in KINDS:
        raise BaselineError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if column["kind"] == "numeric":
        quantiles = column.get("quantiles")
        bins = column.get("bins") or {}
        if not isinstance(quantiles, list) or len(quantiles) != len(QUANTILE_PROBS):
            raise BaselineError(f"{where}: needs {len(QUANTILE_PROBS)} quantiles")
        if any(b > a for a, b in zip(quantiles[1:], quantiles[:-1], strict=False)):
            raise BaselineError(f"{where}: quantiles must not decrease")
        if len(bins.get("counts") or []) != len(bins.get("edges") or []) + 1:
            raise BaselineError(f"{where}: bins need one count more than edges")
    elif not isinstance(column.get("categories"), Mapping) or not column["categories"]:
        raise BaselineError(f"{where}: needs categories")
