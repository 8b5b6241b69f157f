"""Baselines for models trained elsewhere: profile a training table for `push`.

The reference trainer writes `baseline.json` itself. A model trained outside Modelport gets
one from its training table: `client.push(..., baseline="train.csv", baseline_target="churned")`
or `modelport push ... --baseline train.csv --target churned`. The table's feature columns
are the model signature's input names when the table has them all, else every column but
the target and the predictions column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelport.client.errors import ConfigurationError

_READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: str | Path) -> Any:
    """A CSV or Parquet file as a pandas DataFrame."""
    import pandas as pd

    path = Path(path)
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise ConfigurationError(f"{path}: a baseline table must be .csv or .parquet")
    if not path.is_file():
        raise ConfigurationError(f"{path} does not exist")
    try:
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except (ValueError, OSError, ImportError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    if frame.empty:
        raise ConfigurationError(f"{path} holds no rows")
    return frame


def profile_table(
    table: Any,
    *,
    target: str | None = None,
    predictions: str | None = None,
    features: Iterable[str] | None = None,
    categorical: Iterable[str] = (),
    task: str | None = None,
) -> dict[str, Any]:
    """The baseline profile of a training table (a DataFrame, or a .csv/.parquet path).

    `target` names the label column and `predictions` a column of the model's outputs on
    those rows (without one the baseline has no prediction distribution, and the drift
    job reports no prediction drift).
    """
    from model_containers.monitoring import baseline

    frame = read_table(table) if isinstance(table, (str, Path)) else table
    columns = [str(c) for c in frame.columns]
    for label, column in (("target", target), ("predictions", predictions)):
        if column is not None and column not in columns:
            raise ConfigurationError(f"the baseline table has no {label} column {column!r} (columns: {', '.join(columns)})")
    wanted = list(features or [])
    if not wanted or not set(wanted) <= set(columns):
        wanted = [c for c in columns if c not in (target, predictions)]
    try:
        return baseline.profile(
            frame[wanted],
            predictions=frame[predictions].to_numpy() if predictions else None,
            labels=frame[target].to_numpy() if target else None,
            target=target, categorical=categorical, task=task,
        )  # fmt: skip
    except baseline.BaselineError as exc:
        raise ConfigurationError(f"cannot profile the baseline table: {exc}") from None


def resolve(
    given: Any, *, signature: Mapping[str, Any], target: str | None, predictions: str | None,
    categorical: Iterable[str] = (),
) -> dict[str, Any] | None:
    """`push`'s `baseline` argument as a profile: a profile dict is taken as it is (checked);
    a table or a path is profiled, its features the signature's input names if it has them."""
    if given is None:
        return None
    from model_containers.monitoring import baseline

    if isinstance(given, Mapping):
        try:
            baseline.validate(given)
        except baseline.BaselineError as exc:
            raise ConfigurationError(f"the baseline is not a profile: {exc}") from None
        return dict(given)
    names = [str(i.get("name")) for i in signature.get("inputs") or [] if isinstance(i, Mapping)]
    return profile_table(given, target=target, predictions=predictions, features=names or None,
                         categorical=categorical)
