"""The training entry point, and its output served straight away."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from model_containers import artifact
from tests.containers.serverproc import run_training

COLUMNS = ["tenure", "spend", "visits", "churned", "support_calls"]


def table(n=240, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"tenure": rng.integers(1, 60, n), "spend": rng.normal(50, 10, n),
                       "visits": rng.integers(0, 20, n), "support_calls": rng.integers(0, 5, n)})
    df["churned"] = ((df["support_calls"] * 2 - df["tenure"] / 10 + rng.normal(0, 1, n)) > 0).astype(int)
    return df[COLUMNS]


def sagemaker_layout(root, df, hyperparameters, fmt="csv"):
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "config").mkdir(parents=True)
    if fmt == "csv":
        df.to_csv(root / "input" / "data" / "train" / "part-0.csv", index=False)
    else:
        df.to_parquet(root / "input" / "data" / "train" / "part-0.parquet")
    # SageMaker writes every hyperparameter value as a string.
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({k: str(v) for k, v in hyperparameters.items()}))
    return root


HPS = {"target": "churned", "seed": 7, "test_size": 0.25, "C": 0.5}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = sagemaker_layout(tmp_path_factory.mktemp("ml"), table(), HPS)
    result = run_training(root)
    assert result.returncode == 0, result.stderr
    return root, result


def test_writes_a_complete_artifact(trained):
    root, result = trained
    model_dir = root / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "baseline.json", "metrics.json", "model.skops", "modelport.json"]
    manifest = artifact.read_manifest(model_dir)
    assert artifact.verify_tree(model_dir, manifest["files"]) == []
    assert set(manifest["files"]) == {"baseline.json", "metrics.json", "model.skops"}
    assert manifest["framework"] == "sklearn" and manifest["allow_pickle"] is False
    inputs = manifest["signature"]["inputs"]
    assert [i["name"] for i in inputs] == ["tenure", "spend", "visits", "support_calls"]
    assert [i["dtype"] for i in inputs] == ["int64", "float64", "int64", "int64"]
    # an integer column with five values is a category; the classes are recorded too
    assert [i.get("categories") for i in inputs] == [None, None, None, [0, 1, 2, 3, 4]]
    assert manifest["signature"]["outputs"] == [
        {"name": "churned", "dtype": "int64", "shape": [-1], "categories": [0, 1]}]
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics == manifest["metrics"]
    assert metrics["n_train"] == 180 and metrics["n_test"] == 60
    assert 0.8 < metrics["accuracy"] <= 1.0 and 0.8 < metrics["roc_auc"] <= 1.0
    assert {"balanced_accuracy", "f1_macro", "log_loss", "cv_accuracy", "cv_roc_auc"} <= set(metrics)
    assert metrics["cv_folds"] == 5
    assert "fitting hist_gradient_boosting classification pipeline" in result.stderr
    assert "holdout metrics" in result.stderr
    assert not (root / "output" / "failure").exists()


def test_deterministic_given_a_seed(trained, tmp_path):
    root, _ = trained
    again = sagemaker_layout(tmp_path, table(), HPS)
    assert run_training(again).returncode == 0
    first = json.loads((root / "model" / "metrics.json").read_text())
    assert json.loads((again / "model" / "metrics.json").read_text()) == first
    X = table(n=30, seed=11)[["tenure", "spend", "visits", "support_calls"]].astype(float)
    def load(p):
        return sio.load(p, trusted=sio.get_untrusted_types(file=p))

    np.testing.assert_array_equal(load(root / "model" / "model.skops").predict_proba(X),
                                  load(again / "model" / "model.skops").predict_proba(X))


def test_sagemaker_env_vars_parquet_and_last_column_target(tmp_path):
    data = tmp_path / "channel"
    data.mkdir()
    df = table().drop(columns=["churned"]).assign(churned=table()["churned"])
    df.to_parquet(data / "train.parquet")
    out = tmp_path / "out"
    result = run_training(tmp_path / "ml", SM_CHANNEL_TRAINING=str(data), SM_MODEL_DIR=str(out),
                          SM_HPS=json.dumps({"seed": "1", "estimator": "random_forest", "n_estimators": "5"}))
    assert result.returncode == 0, result.stderr
    manifest = artifact.read_manifest(out)
    assert manifest["signature"]["outputs"][0]["name"] == "churned"
    assert manifest["training"]["task"] == "classification" and manifest["training"]["seed"] == 1
    assert manifest["training"]["target"] == "churned"
    assert manifest["training"]["estimator"] == "random_forest"
    assert "channel 'training'" in result.stderr


@pytest.mark.parametrize("hps,reason", [
    ({"target": "nope"}, "target column 'nope' is not in the data"),
    ({"channel": "validation"}, "input channel 'validation' is missing"),
    ({"estimator": "svm"}, "estimator must be hist_gradient_boosting, random_forest or linear"),
])
def test_failure_reason_and_exit_code(tmp_path, hps, reason):
    root = sagemaker_layout(tmp_path, table(n=40), hps)
    result = run_training(root)
    assert result.returncode != 0
    assert reason in (root / "output" / "failure").read_text()
    assert not (root / "model" / "modelport.json").exists()


def test_custom_train_py_in_code_channel(tmp_path):
    root = sagemaker_layout(tmp_path, table(n=40), {"scale": "3"})
    code = root / "input" / "data" / "code"
    code.mkdir()
    (code / "train.py").write_text(
        "def train(ctx):\n"
        "    scale = ctx.hp('scale')\n"
        "    (ctx.model_dir / 'predictor.py').write_text(\n"
        "        f'def load(d):\\n    pass\\ndef predict(b):\\n    return b[:, 0] * {scale}\\n')\n"
        "    return {'framework': 'python', 'model_file': 'predictor.py', 'metrics': {'scale': scale},\n"
        "            'signature': {'inputs': [{'name': 'v', 'dtype': 'float64', 'shape': [-1]}]}}\n")
    result = run_training(root)
    assert result.returncode == 0, result.stderr
    manifest = artifact.read_manifest(root / "model")
    assert manifest["framework"] == "python" and manifest["metrics"] == {"scale": 3}
    assert artifact.verify_tree(root / "model", manifest["files"]) == []


def test_training_output_serves_through_every_protocol(trained, serve):
    root, _ = trained
    server = serve(root / "model").wait()
    path = root / "model" / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    df = table(n=9, seed=21)
    features = ["tenure", "spend", "visits", "support_calls"]
    expected = model.predict(df[features].astype(float)).tolist()
    with server.client() as http:
        sagemaker = http.post("/invocations", json={"instances": df[features].values.tolist()})
        mlflow = http.post("/invocations", content=df.drop(columns=["churned"]).to_json(orient="split", index=False)
                           .replace('{"columns"', '{"dataframe_split": {"columns"', 1) + "}",
                           headers={"content-type": "application/json"})
        oip = http.post("/v2/models/model/infer", json={"inputs": [
            {"name": f, "datatype": "FP64" if f == "spend" else "INT64", "shape": [len(df)],
             "data": df[f].tolist()} for f in features]})
    assert sagemaker.json() == {"predictions": expected}
    assert mlflow.status_code == 200, mlflow.text
    assert mlflow.json() == {"predictions": expected}
    assert oip.json()["outputs"][0]["data"] == expected


def test_entry_point_lookup(tmp_path):
    from model_containers.errors import TrainingError
    from model_containers.training.contract import TrainingContext
    from model_containers.training.custom import find_entry_point

    code = tmp_path / "code"
    (code / "jobs").mkdir(parents=True)
    (code / "jobs" / "fit.py").write_text("def train(ctx): pass\n")

    def ctx(hps, channels):
        return TrainingContext(channels=channels, hyperparameters=hps, model_dir=tmp_path / "m",
                               output_dir=tmp_path / "o")

    assert find_entry_point(ctx({"entry_point": "jobs/fit.py"}, {"code": code})) == code / "jobs" / "fit.py"
    assert find_entry_point(ctx({}, {"code": code})) is None  # no train.py: the reference trainer
    (code / "train.py").write_text("def train(ctx): pass\n")
    assert find_entry_point(ctx({}, {"code": code})) == code / "train.py"
    with pytest.raises(TrainingError, match="no 'code' channel"):
        find_entry_point(ctx({"entry_point": "fit.py"}, {}))
    with pytest.raises(TrainingError, match="must name a .py file"):
        find_entry_point(ctx({"entry_point": "jobs/missing.py"}, {"code": code}))


def test_entry_point_stays_inside_the_code_channel(tmp_path):
    """Issue 10: an absolute entry_point ran a train.py uploaded inside a dataset."""
    from model_containers.errors import TrainingError
    from model_containers.training.contract import TrainingContext
    from model_containers.training.custom import find_entry_point

    code, data = tmp_path / "code", tmp_path / "train"
    code.mkdir()
    data.mkdir()
    (data / "evil.py").write_text("def train(ctx): raise SystemExit('ran')\n")
    (code / "link.py").symlink_to(data / "evil.py")

    def ctx(entry, channels):
        return TrainingContext(channels=channels, hyperparameters={"entry_point": entry}, model_dir=tmp_path / "m",
                               output_dir=tmp_path / "o")

    for entry in (str(data / "evil.py"), "../train/evil.py", "link.py", "/etc/passwd.py"):
        with pytest.raises(TrainingError, match="inside the 'code' channel"):
            find_entry_point(ctx(entry, {"code": code, "train": data}))
    with pytest.raises(TrainingError, match="no 'code' channel"):
        find_entry_point(ctx(str(data / "evil.py"), {"train": data}))


def test_hyperparameter_strings_are_decoded():
    from model_containers.training.contract import parse_value

    assert [parse_value(v) for v in ["3", "0.25", "true", "[1, 2]", "linear", 4]] == [
        3, 0.25, True, [1, 2], "linear", 4]
