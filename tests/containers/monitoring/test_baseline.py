"""Baseline profiles: what is kept per feature and output, and the file's format."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from model_containers.monitoring import baseline
from model_containers.monitoring.baseline import BaselineError


def frame(n: int = 1_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "tenure": rng.integers(0, 72, n),
        "charges": rng.normal(70, 20, n),
        "contract": rng.choice(["monthly", "yearly"], n),
        "senior": rng.random(n) < 0.2,
        "region": rng.integers(1, 4, n),
    })  # fmt: skip


def test_numeric_features_keep_quantiles_bins_and_a_histogram():
    df = frame()
    df.loc[:9, "charges"] = np.nan
    p = baseline.profile(df)["features"]["charges"]
    assert (p["kind"], p["count"], p["missing"]) == ("numeric", 1_000, 10)
    finite = df["charges"].dropna().to_numpy()
    assert p["quantiles"][0] == finite.min() and p["quantiles"][-1] == finite.max()
    assert p["quantiles"][50] == pytest.approx(np.quantile(finite, 0.5, method="inverted_cdf"))
    assert len(p["bins"]["edges"]) == 9 and sum(p["bins"]["counts"]) == 990
    assert all(80 <= c <= 120 for c in p["bins"]["counts"])  # equal-frequency bins
    assert len(p["histogram"]["counts"]) == 20 and sum(p["histogram"]["counts"]) == 990
    assert p["mean"] == pytest.approx(finite.mean()) and p["std"] == pytest.approx(finite.std())


def test_categorical_features_keep_counts_largest_first():
    p = baseline.profile(frame(), categorical=["region"])["features"]
    contract = p["contract"]
    assert contract["kind"] == "categorical" and sum(contract["categories"].values()) == 1_000
    assert list(contract["categories"].values()) == sorted(contract["categories"].values(), reverse=True)
    assert p["senior"]["kind"] == "categorical" and set(p["senior"]["categories"]) == {"True", "False"}
    assert p["region"]["kind"] == "categorical" and set(p["region"]["categories"]) == {"1", "2", "3"}
    assert p["tenure"]["kind"] == "numeric"


def test_rare_categories_beyond_the_limit_are_counted_as_other(monkeypatch):
    monkeypatch.setattr(baseline, "MAX_CATEGORIES", 3)
    p = baseline.profile_column(pd.Series(list("aaaabbbccd")))
    assert p["categories"] == {"a": 4, "b": 3, "c": 2} and p["other"] == 1 and p["cardinality"] == 4


def test_outputs_and_labels_are_profiled_by_task():
    df = frame()
    labels = (df["charges"] > 70).astype(int)
    p = baseline.profile(df, predictions=labels.to_numpy(), labels=labels, target="churned", task="classification")
    assert p["target"] == "churned" and p["outputs"]["prediction"]["kind"] == "categorical"
    assert p["label"]["kind"] == "categorical"
    regression = baseline.profile(df, predictions=df["charges"] * 2, task="regression")
    assert regression["outputs"]["prediction"]["kind"] == "numeric"
    proba = np.column_stack([np.full(1_000, 0.3), np.full(1_000, 0.7)])
    assert list(baseline.profile(df, predictions=proba)["outputs"]) == ["prediction[0]", "prediction[1]"]


def test_one_category_whatever_type_carries_it():
    assert {baseline.category_key(v) for v in (1, 1.0, "1", np.int64(1))} == {"1"}
    assert {baseline.category_key(v) for v in (True, np.bool_(True), "True")} == {"True"}
    assert [baseline.category_key(v) for v in (None, float("nan"), "")] == [None, None, None]


def test_the_file_round_trips_and_its_digest_is_of_its_bytes(tmp_path):
    p = baseline.profile(frame(), predictions=np.zeros(1_000))
    path = baseline.write(tmp_path, p)
    assert path.name == "baseline.json" and baseline.read(tmp_path) == json.loads(path.read_text())
    assert baseline.digest(tmp_path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert baseline.dumps(baseline.read(path)) == path.read_bytes()


@pytest.mark.parametrize("bad, message", [
    ({"format_version": 2}, "format_version 1"),
    ({"format_version": 1, "features": {}}, "at least one feature"),
    ({"format_version": 1, "features": {"x": {"kind": "text"}}}, "features.x: kind"),
    ({"format_version": 1, "features": {"x": {"kind": "numeric", "quantiles": [1, 2]}}}, "101 quantiles"),
    ({"format_version": 1, "features": {"x": {"kind": "categorical", "categories": {}}}}, "needs categories"),
])  # fmt: skip
def test_a_malformed_profile_is_refused_naming_what_is_wrong(bad, message):
    with pytest.raises(BaselineError, match=message):
        baseline.validate(bad)


def test_data_that_cannot_be_profiled_is_refused_clearly():
    with pytest.raises(BaselineError, match="DataFrame"):
        baseline.profile([[1, 2]])
    with pytest.raises(BaselineError, match="not in the data"):
        baseline.profile(frame(), categorical=["nope"])
    with pytest.raises(BaselineError, match="one value per row"):
        baseline.profile(frame(), predictions=np.zeros(3))
    with pytest.raises(BaselineError, match="no values"):
        baseline.profile(pd.DataFrame({"x": [np.nan, np.nan]}))
