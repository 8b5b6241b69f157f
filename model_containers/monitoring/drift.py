"""Drift statistics: pure numpy/scipy, no I/O and no AWS.

Each test compares what the baseline profile kept of the training data (bin counts,
quantiles, category counts: see `baseline.py`) with the current sample and returns a
small frozen `DriftResult`, the way `scipy.stats` returns its result objects:

* every feature: `psi` (population stability index) and `jensen_shannon` (distance,
  base 2, in [0, 1]) over the baseline's bins, with a bin for missing values;
* numeric features: `ks` (Kolmogorov–Smirnov statistic against the baseline's quantile
  function, asymptotic two-sample p-value with the training row count) and `wasserstein`
  (earth mover's distance in units of the baseline's standard deviation);
* categorical features: `chi_squared` (goodness of fit to the training frequencies, with
  Cramér's V as its effect size) and `unseen` (share of rows in categories training never had).

Large samples make every p-value tiny, so a test with a p-value drifts only when the
difference is both significant (`p < alpha`) and large (its effect size at or above the
threshold). `compare` applies all tests that fit a feature's kind and decides the
feature's status: `drift`, `ok`, or `insufficient_data` below the minimum sample size,
which never raises an alarm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special

from model_containers.monitoring.baseline import (
    QUANTILE_PROBS,
    bin_counts,
    category_key,
    histogram_counts,
)

#: PSI's floor for empty bins (an empty bin would make the log infinite).
PSI_EPSILON = 1e-4
#: points of the baseline's quantile function the distribution tests compare with.
QUANTILE_SAMPLE = 1000

OK, DRIFT, INSUFFICIENT = "ok", "drift", "insufficient_data"


@dataclass(frozen=True)
class Thresholds:
    """When a test calls drift (the model policy's `monitoring.thresholds`)."""

    psi: float = 0.2
    jensen_shannon: float = 0.15
    ks: float = 0.15
    wasserstein: float = 0.4
    cramers_v: float = 0.1
    unseen: float = 0.01
    alpha: float = 0.01
    #: fewer current rows than this: `insufficient_data`, never drift.
    min_samples: int = 100


@dataclass(frozen=True)
class DriftResult:
    """One test's outcome. `statistic` is the test's effect size (its p-value apart)."""

    test: str
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None = None
    n: int = 0
    #: e.g. the unseen categories and their counts, largest first.
    detail: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["statistic"] = _finite(self.statistic)
        out["p_value"] = None if self.p_value is None else _finite(self.p_value)
        out["detail"] = [list(d) for d in self.detail]
        return out


@dataclass(frozen=True)
class FeatureDrift:
    """Every test of one feature (or output), and the feature's status."""

    feature: str
    kind: str
    n: int
    missing: int
    status: str
    results: tuple[DriftResult, ...]
    #: the current sample on the baseline's bins and histogram (for the report's plots).
    current: Mapping[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return self.status == DRIFT

    @property
    def score(self) -> float:
        """The feature's drift score over time: its PSI."""
        return self.result("psi").statistic

    @property
    def drifted_by(self) -> list[str]:
        return [r.test for r in self.results if r.drifted] if self.status == DRIFT else []

    def result(self, test: str) -> DriftResult:
        return next(r for r in self.results if r.test == test)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature, "kind": self.kind, "n": self.n, "missing": self.missing,
            "status": self.status, "score": _finite(self.score), "drifted_by": self.drifted_by,
            "tests": {r.test: r.to_dict() for r in self.results}, "current": dict(self.current),
        }  # fmt: skip


# --- the tests ------------------------------------------------------------------------------


def psi(expected: Sequence[float], actual: Sequence[float], *, threshold: float = Thresholds.psi) -> DriftResult:
    """Population stability index of two distributions over the same bins (counts or shares)."""
    e, a, n = _shares(expected, actual)
    if n == 0:
        return DriftResult("psi", math.nan, threshold, False, n=0)
    e, a = np.maximum(e, PSI_EPSILON), np.maximum(a, PSI_EPSILON)
    value = float(np.sum((a - e) * np.log(a / e)))
    return DriftResult("psi", value, threshold, value >= threshold, n=n)


def jensen_shannon(
    expected: Sequence[float], actual: Sequence[float], *, threshold: float = Thresholds.jensen_shannon
) -> DriftResult:
    """Jensen–Shannon distance (base 2: 0 identical, 1 disjoint) over the same bins."""
    e, a, n = _shares(expected, actual)
    if n == 0:
        return DriftResult("jensen_shannon", math.nan, threshold, False, n=0)
    m = (e + a) / 2
    divergence = (special.rel_entr(e, m).sum() + special.rel_entr(a, m).sum()) / 2 / math.log(2)
    value = math.sqrt(max(0.0, float(divergence)))  # rounding may leave -1e-17
    return DriftResult("jensen_shannon", value, threshold, value >= threshold, n=n)


def ks(
    quantiles: Sequence[float], current: np.ndarray, *, n_baseline: int,
    threshold: float = Thresholds.ks, alpha: float = Thresholds.alpha,
) -> DriftResult:
    """Kolmogorov–Smirnov statistic of the current values against the baseline's quantile
    function; the p-value is the asymptotic two-sample one for `n_baseline` training rows."""
    current = _finite_values(current)
    if not len(current):
        return DriftResult("ks", math.nan, threshold, False, n=0)
    value = ks_statistic(quantile_sample(quantiles), current)
    effective = n_baseline * len(current) / (n_baseline + len(current))
    p = float(special.kolmogorov(math.sqrt(effective) * value))
    return DriftResult("ks", value, threshold, value >= threshold and p < alpha, p_value=p, n=len(current))


def wasserstein(
    quantiles: Sequence[float], current: np.ndarray, *, scale: float | None,
    threshold: float = Thresholds.wasserstein,
) -> DriftResult:
    """Earth mover's distance to the baseline, in units of `scale` (the training std)."""
    current = _finite_values(current)
    if not len(current):
        return DriftResult("wasserstein", math.nan, threshold, False, n=0)
    raw = wasserstein_distance(quantile_sample(quantiles), current)
    value = raw / scale if scale else raw
    return DriftResult("wasserstein", value, threshold, value >= threshold, n=len(current))


def chi_squared(
    expected: Sequence[float], actual: Sequence[float], *,
    threshold: float = Thresholds.cramers_v, alpha: float = Thresholds.alpha,
) -> DriftResult:
    """Goodness of fit of the current category counts to the training frequencies.

    Bins training never saw (expected 0) are left out: `unseen` reports them. The
    statistic is Cramér's V, `sqrt(chi2 / (n (k - 1)))`, the chi-squared's effect size.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    keep = e > 0
    e, a = e[keep], a[keep]
    n = int(a.sum())
    if n == 0 or len(e) < 2:
        return DriftResult("chi_squared", 0.0 if n else math.nan, threshold, False, p_value=1.0 if n else None, n=n)
    expected_counts = e / e.sum() * n
    chi2 = float(np.sum((a - expected_counts) ** 2 / expected_counts))
    p = float(special.chdtrc(len(e) - 1, chi2))
    v = math.sqrt(chi2 / (n * (len(e) - 1)))
    return DriftResult("chi_squared", v, threshold, v >= threshold and float(p) < alpha, p_value=float(p), n=n)


def unseen(
    categories: Mapping[str, int], current: Sequence[str | None], *, threshold: float = Thresholds.unseen,
    limit: int = 20,
) -> DriftResult:
    """Share of current (non-missing) rows whose category training never had."""
    present = [c for c in current if c is not None]
    if not present:
        return DriftResult("unseen", math.nan, threshold, False, n=0)
    names, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    new = [(str(k), int(c)) for k, c in zip(names, counts, strict=True) if k not in categories]
    new.sort(key=lambda item: (-item[1], item[0]))
    share = sum(c for _, c in new) / len(present)
    return DriftResult("unseen", share, threshold, share >= threshold and share > 0, n=len(present),
                       detail=tuple(new[:limit]))


# --- one feature against its profile --------------------------------------------------------


def compare(name: str, profile: Mapping[str, Any], values: Sequence[Any] | np.ndarray,
            thresholds: Thresholds = Thresholds()) -> FeatureDrift:
    """Every test that fits the profile's kind, and the feature's status."""
    if profile["kind"] == "numeric":
        return _compare_numeric(name, profile, values, thresholds)
    return _compare_categorical(name, profile, values, thresholds)


def _compare_numeric(name: str, profile: Mapping[str, Any], values: Any, t: Thresholds) -> FeatureDrift:
    numbers = to_numbers(values)
    finite = numbers[np.isfinite(numbers)]
    missing = int(len(numbers) - len(finite))
    edges = profile["bins"]["edges"]
    expected = [*profile["bins"]["counts"], profile["missing"]]
    actual = [*bin_counts(edges, finite).tolist(), missing]
    quantiles = profile["quantiles"]
    results = (
        psi(expected, actual, threshold=t.psi),
        jensen_shannon(expected, actual, threshold=t.jensen_shannon),
        ks(quantiles, finite, n_baseline=profile["count"] - profile["missing"], threshold=t.ks, alpha=t.alpha),
        wasserstein(quantiles, finite, scale=profile.get("std"), threshold=t.wasserstein),
    )
    histogram = histogram_counts(profile["histogram"]["edges"], finite).tolist() if len(finite) else []
    outside = int(np.sum((finite < profile["min"]) | (finite > profile["max"])))
    current = {"bins": actual[:-1], "histogram": histogram, "outside_range": outside,
               "mean": _finite(finite.mean()) if len(finite) else None}
    return _feature(name, "numeric", len(numbers), missing, results, current, t)


def _compare_categorical(name: str, profile: Mapping[str, Any], values: Any, t: Thresholds) -> FeatureDrift:
    keys = [category_key(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]
    categories: Mapping[str, int] = profile["categories"]
    counts = dict.fromkeys(categories, 0)
    other = missing = 0
    for key in keys:
        if key is None:
            missing += 1
        elif key in counts:
            counts[key] += 1
        else:
            other += 1
    expected = [*categories.values(), profile.get("other", 0), profile["missing"]]
    actual = [*counts.values(), other, missing]
    results = (
        psi(expected, actual, threshold=t.psi),
        jensen_shannon(expected, actual, threshold=t.jensen_shannon),
        chi_squared([*categories.values(), profile.get("other", 0)], [*counts.values(), other],
                    threshold=t.cramers_v, alpha=t.alpha),
        unseen(categories, keys, threshold=t.unseen if not profile.get("other") else 1.0),
    )
    current = {"categories": counts, "other": other}
    return _feature(name, "categorical", len(keys), missing, results, current, t)


def _feature(name: str, kind: str, n: int, missing: int, results: tuple[DriftResult, ...],
             current: dict, t: Thresholds) -> FeatureDrift:
    if n < t.min_samples:
        status = INSUFFICIENT
    else:
        status = DRIFT if any(r.drifted for r in results) else OK
    return FeatureDrift(name, kind, n, missing, status, results, current)


# --- helpers --------------------------------------------------------------------------------


def quantile_sample(quantiles: Sequence[float], size: int = QUANTILE_SAMPLE) -> np.ndarray:
    """Points spread evenly over the baseline's quantile function (a step function, so a
    discrete feature keeps its exact values)."""
    probs = np.asarray(QUANTILE_PROBS)
    values = np.asarray(quantiles, dtype=np.float64)
    grid = (np.arange(size) + 0.5) / size
    return values[np.minimum(np.searchsorted(probs, grid, side="left"), len(values) - 1)]


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between the two
    empirical CDFs (`scipy.stats.ks_2samp(a, b).statistic`, without importing scipy.stats,
    whose import costs the job more than its small windows' statistics)."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    gap = np.searchsorted(a, points, side="right") / len(a) - np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(gap)))


def wasserstein_distance(u: np.ndarray, v: np.ndarray) -> float:
    """The 1-D earth mover's distance, the area between the two empirical CDFs
    (`scipy.stats.wasserstein_distance(u, v)`)."""
    u, v = np.sort(u), np.sort(v)
    points = np.sort(np.concatenate([u, v]))
    widths = np.diff(points)
    u_cdf = np.searchsorted(u, points[:-1], side="right") / len(u)
    v_cdf = np.searchsorted(v, points[:-1], side="right") / len(v)
    return float(np.sum(np.abs(u_cdf - v_cdf) * widths))


def to_numbers(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Values as float64; anything that is not a number becomes NaN (missing)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iufb":
        return arr.astype(np.float64)
    out = np.empty(len(arr), dtype=np.float64)
    for i, value in enumerate(arr.tolist()):
        try:
            out[i] = float(value) if value is not None and value != "" else math.nan
        except (TypeError, ValueError):
            out[i] = math.nan
    return out


def _finite_values(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _shares(expected: Sequence[float], actual: Sequence[float]) -> tuple[np.ndarray, np.ndarray, int]:
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        raise ValueError("expected and actual need the same bins")
    total = float(a.sum())
    if total <= 0 or e.sum() <= 0:
        return e, a, 0
    return e / e.sum(), a / total, max(1, round(total))  # shares (summing to 1) count as one sample


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
