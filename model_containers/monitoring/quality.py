"""Live model quality: the policy metric on captured predictions joined with labels.

The metric names are those the reference trainer reports (`metrics.json`) and the model
policy compares on: classification `accuracy`, `f1_macro`, `roc_auc` (needs a score
output, e.g. a probability column), regression `r2`, `rmse`, `mae`. numpy/scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model_containers.monitoring.baseline import category_key
from model_containers.monitoring.drift import to_numbers

CLASSIFICATION = ("accuracy", "f1_macro", "roc_auc")
REGRESSION = ("r2", "rmse", "mae")
METRICS = (*CLASSIFICATION, *REGRESSION)


class MetricUnavailable(ValueError):
    """The policy metric cannot be computed from what was captured."""


@dataclass(frozen=True)
class Point:
    time: str
    value: float | None
    n: int


def compute(metric: str, labels: Sequence, predictions: Sequence, scores: Sequence | None = None) -> float:
    """The metric on paired labels and predictions (or scores, for `roc_auc`)."""
    if metric not in METRICS:
        raise MetricUnavailable(f"{metric!r} cannot be computed from live labels (known: {', '.join(METRICS)})")
    if not len(labels):
        return math.nan
    if metric in REGRESSION:
        y, p = to_numbers(labels), to_numbers(predictions)
        keep = np.isfinite(y) & np.isfinite(p)
        y, p = y[keep], p[keep]
        if not len(y):
            return math.nan
        if metric == "rmse":
            return float(np.sqrt(np.mean((y - p) ** 2)))
        if metric == "mae":
            return float(np.mean(np.abs(y - p)))
        total = float(np.sum((y - y.mean()) ** 2))
        return 1.0 - float(np.sum((y - p) ** 2)) / total if total > 0 else math.nan
    y = np.asarray([category_key(v) for v in labels], dtype=object)
    if metric == "roc_auc":
        return _roc_auc(y, scores)
    p = np.asarray([category_key(v) for v in predictions], dtype=object)
    if metric == "accuracy":
        return float(np.mean(y == p))
    f1 = []
    for cls in sorted({c for c in y if c is not None} | {c for c in p if c is not None}):
        tp = float(np.sum((y == cls) & (p == cls)))
        fp = float(np.sum((y != cls) & (p == cls)))
        fn = float(np.sum((y == cls) & (p != cls)))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(f1)) if f1 else math.nan


def _roc_auc(y: np.ndarray, scores: Sequence | None) -> float:
    if scores is None:
        raise MetricUnavailable("roc_auc needs a score per prediction (serve probabilities)")
    s = to_numbers(scores)
    classes = sorted({c for c in y if c is not None})
    if len(classes) != 2:
        return math.nan
    positive = y == classes[1]
    keep = np.isfinite(s)
    s, positive = s[keep], positive[keep]
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return math.nan
    ranks = average_ranks(s)  # Mann–Whitney U: AUC = P(score of a positive > score of a negative)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def series(metric: str, hours: Sequence[str], labels: Sequence, predictions: Sequence,
           scores: Sequence | None = None) -> list[Point]:
    """The metric per hour of inference time (`hours` are `YYYY-MM-DDTHH:00:00Z`)."""
    hours = np.asarray(hours, dtype=object)
    points = []
    for hour in sorted(set(hours.tolist())):
        pick = hours == hour
        value = compute(metric, np.asarray(labels, dtype=object)[pick], np.asarray(predictions, dtype=object)[pick],
                        None if scores is None else np.asarray(scores, dtype=object)[pick])
        points.append(Point(hour, None if math.isnan(value) else value, int(pick.sum())))
    return points


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (`scipy.stats.rankdata(values)`)."""
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.arange(len(order))
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(starts)[inverse]
    bounds = np.r_[np.flatnonzero(starts), len(values)]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)
