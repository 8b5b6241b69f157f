"""The drift statistics with known answers (issue 13): identical distributions do not
drift, a shifted mean drifts that feature only, a new category is flagged, and too few
samples are "insufficient data", never an alarm. Hand-computed values pin each formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model_containers.monitoring import baseline, drift
from model_containers.monitoring.drift import Thresholds


def training(seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.normal(50_000, 12_000, n),
        "age": rng.integers(18, 90, n),
        "score": rng.uniform(0, 1, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
    })  # fmt: skip


@pytest.fixture(scope="module")
def profile():
    return baseline.profile(training(seed=0))


def report(profile, frame: pd.DataFrame, thresholds: Thresholds | None = None) -> dict[str, drift.FeatureDrift]:
    thresholds = thresholds or Thresholds()
    return {name: drift.compare(name, profile["features"][name], frame[name].to_numpy(), thresholds)
            for name in profile["features"]}


# --- the four known answers of the issue ----------------------------------------------------


def test_identical_distributions_do_not_drift(profile):
    results = report(profile, training(seed=1, n=5_000))
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(results, drift.OK)
    for result in results.values():
        assert result.score < 0.01, result.to_dict()
        assert result.result("jensen_shannon").statistic < 0.05


def test_a_shifted_mean_drifts_that_feature_only(profile):
    current = training(seed=2, n=5_000)
    current["income"] += 12_000  # one standard deviation
    results = report(profile, current)
    assert [name for name, r in results.items() if r.drifted] == ["income"]
    income = results["income"]
    assert set(income.drifted_by) == {"psi", "jensen_shannon", "ks", "wasserstein"}
    # N(0,1) against N(1,1): KS = 2Φ(1/2) - 1, W1 = 1 std, PSI ≈ symmetric KL = 1
    assert income.result("ks").statistic == pytest.approx(2 * stats.norm.cdf(0.5) - 1, abs=0.03)
    assert income.result("wasserstein").statistic == pytest.approx(1.0, abs=0.05)
    assert 0.7 < income.score < 1.3
    assert income.result("ks").p_value < 1e-10


def test_a_new_category_is_flagged(profile):
    current = training(seed=3, n=5_000)
    current.loc[current.index[:500], "plan"] = "enterprise"  # 10 % of rows in a category never seen
    results = report(profile, current)
    plan = results["plan"]
    assert plan.drifted and "unseen" in plan.drifted_by
    unseen = plan.result("unseen")
    assert unseen.statistic == pytest.approx(0.1) and unseen.detail == (("enterprise", 500),)
    assert [name for name, r in results.items() if r.drifted] == ["plan"]


def test_fewer_samples_than_the_minimum_are_insufficient_data_not_an_alarm(profile):
    current = training(seed=4, n=40)
    current["income"] += 60_000  # a huge shift, but only 40 rows
    results = report(profile, current, Thresholds(min_samples=100))
    assert {r.status for r in results.values()} == {drift.INSUFFICIENT}
    assert not any(r.drifted for r in results.values()) and results["income"].drifted_by == []
    # the statistics are still computed (the report shows them), they just do not judge
    assert results["income"].score > 1


# --- each formula against a hand computation -------------------------------------------------


def test_psi_matches_its_formula():
    e, a = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    expected = float(np.sum((a - e) * np.log(a / e)))
    result = drift.psi([50, 30, 20], [30, 30, 40], threshold=0.2)
    assert result.statistic == pytest.approx(expected) and result.drifted == (expected >= 0.2)
    assert drift.psi([1, 1], [1, 1]).statistic == 0.0
    # an empty bin is floored, not infinite
    assert math.isfinite(drift.psi([10, 0], [5, 5]).statistic)


def test_jensen_shannon_is_a_base_2_distance():
    assert drift.jensen_shannon([1, 0], [0, 1]).statistic == pytest.approx(1.0)
    assert drift.jensen_shannon([3, 7], [3, 7]).statistic == pytest.approx(0.0)
    kl = lambda p, q: float(np.sum(p * np.log2(p / q)))
    p, q = np.array([0.75, 0.25]), np.array([0.25, 0.75])
    m = (p + q) / 2
    assert drift.jensen_shannon(p, q).statistic == pytest.approx(math.sqrt((kl(p, m) + kl(q, m)) / 2))


def test_chi_squared_reports_cramers_v_and_its_p_value():
    result = drift.chi_squared([60, 30, 10], [40, 40, 20], alpha=0.01, threshold=0.1)
    chi2, p = stats.chisquare([40, 40, 20], [60, 30, 10])
    assert result.p_value == pytest.approx(p)
    assert result.statistic == pytest.approx(math.sqrt(chi2 / (100 * 2)))
    assert result.drifted
    # a category training never had does not enter the chi-squared (unseen reports it)
    assert drift.chi_squared([50, 50, 0], [50, 50, 30]).statistic == pytest.approx(0.0)


def test_ks_and_wasserstein_work_from_the_stored_quantiles():
    rng = np.random.default_rng(7)
    train = rng.normal(0, 2, 50_000)
    column = baseline.profile_column(train)
    current = rng.normal(1, 2, 20_000)
    exact = stats.ks_2samp(train, current).statistic
    result = drift.ks(column["quantiles"], current, n_baseline=50_000)
    assert result.statistic == pytest.approx(exact, abs=0.015)
    w = drift.wasserstein(column["quantiles"], current, scale=column["std"])
    assert w.statistic == pytest.approx(stats.wasserstein_distance(train, current) / 2, abs=0.03)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_numpy_ks_wasserstein_and_ranks_equal_scipy_stats(seed):
    """The job avoids importing scipy.stats (seconds of its start-up); its own KS statistic,
    earth mover's distance, and average ranks must equal scipy's, ties included."""
    from model_containers.monitoring import quality

    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, 3000).round(1)  # rounded: many ties
    b = rng.normal(0.3, 1.4, 1700).round(1)
    assert drift.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert drift.wasserstein_distance(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    np.testing.assert_allclose(quality.average_ranks(b), stats.rankdata(b))
    p, q = rng.dirichlet(np.ones(9)), rng.dirichlet(np.ones(9))
    from scipy.spatial import distance

    assert drift.jensen_shannon(p, q).statistic == pytest.approx(distance.jensenshannon(p, q, base=2), rel=1e-9)


def test_a_discrete_feature_keeps_its_exact_values():
    values = np.repeat([0, 1, 2], [500, 300, 200])
    column = baseline.profile_column(values)
    sample = drift.quantile_sample(column["quantiles"])
    assert set(np.unique(sample)) == {0.0, 1.0, 2.0}
    same = drift.compare("x", column, np.repeat([0, 1, 2], [250, 150, 100]))
    assert same.status == drift.OK and same.result("ks").statistic < 0.02


def test_missing_values_are_a_bin_of_their_own(profile):
    current = training(seed=5, n=5_000)
    current.loc[current.index[:2_000], "score"] = np.nan  # 40 % missing: the pipeline upstream broke
    result = drift.compare("score", profile["features"]["score"], current["score"].to_numpy())
    assert result.missing == 2_000 and result.drifted and "psi" in result.drifted_by
    # the distribution tests see only the values that are there, which did not move
    assert not result.result("ks").drifted and not result.result("wasserstein").drifted


def test_results_are_frozen_and_serialise_to_plain_json(profile):
    result = drift.compare("plan", profile["features"]["plan"], ["basic", "zzz", None] * 50)
    with pytest.raises(AttributeError):
        result.status = "ok"  # type: ignore[misc]
    data = result.to_dict()
    assert data["tests"]["unseen"]["detail"] == [["zzz", 50]]
    assert data["missing"] == 50 and data["current"]["other"] == 50
    import json

    json.dumps(data, allow_nan=False)
