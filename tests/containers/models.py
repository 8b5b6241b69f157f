"""Tiny models the tests build, one per runtime, each as a servable artifact directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from model_containers.artifact import write_manifest

N_FEATURES = 4
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
COLUMNS = {"inputs": [{"name": f, "dtype": "float64", "shape": [-1]} for f in FEATURES],
           "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}]}


def data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def logistic():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*data())


def sklearn_skops(root: Path) -> Path:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    # A forest: its tree structures are types skops does not trust by default.
    model = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(*data())
    root.mkdir(parents=True)
    sio.dump(model, root / "model.skops")
    write_manifest(root, framework="sklearn", model_file="model.skops", signature=COLUMNS,
                   extra={"name": "forest", "version": "3"})
    return root


def sklearn_pickle(root: Path, *, allow: bool) -> Path:
    import joblib

    root.mkdir(parents=True)
    joblib.dump(logistic(), root / "model.joblib")
    write_manifest(root, framework="sklearn", model_file="model.joblib", signature=COLUMNS, allow_pickle=allow)
    return root


def xgboost_model(root: Path, suffix: str) -> Path:
    import xgboost as xgb

    X, y = data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                        xgb.DMatrix(X, label=y), num_boost_round=5)
    root.mkdir(parents=True)
    booster.save_model(str(root / f"model.{suffix}"))
    signature = {"inputs": COLUMNS["inputs"], "outputs": [{"name": "probability", "dtype": "float32", "shape": [-1]}]}
    write_manifest(root, framework="xgboost", model_file=f"model.{suffix}", signature=signature)
    return root


def onnx_model(root: Path) -> Path:
    from skl2onnx import to_onnx

    X, _ = data()
    onx = to_onnx(logistic(), X[:1].astype(np.float32), options={"zipmap": False}, target_opset=17)
    root.mkdir(parents=True)
    (root / "model.onnx").write_bytes(onx.SerializeToString())
    signature = {"inputs": [{"name": "X", "dtype": "float32", "shape": [-1, N_FEATURES]}],
                 "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]},
                             {"name": "probabilities", "dtype": "float32", "shape": [-1, 2]}]}
    write_manifest(root, framework="onnx", model_file="model.onnx", signature=signature)
    return root


def torchscript_model(root: Path) -> Path:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    root.mkdir(parents=True)
    torch.jit.script(net.eval()).save(str(root / "model.pt"))
    signature = {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, N_FEATURES]}],
                 "outputs": [{"name": "logits", "dtype": "float32", "shape": [-1, 2]}]}
    write_manifest(root, framework="torchscript", model_file="model.pt", signature=signature)
    return root


# The custom predictor doubles the first column; a row whose first value is -999 makes it
# raise (to show error isolation), and ``sleep`` > 0 in the env slows it (for draining).
PREDICTOR = textwrap.dedent('''
    import json, os, time
    from pathlib import Path
    import numpy as np

    STATE = {}

    def load(model_dir):
        time.sleep(float(os.environ.get("PREDICTOR_LOAD_SLEEP", "0")))
        STATE["scale"] = json.loads((Path(model_dir) / "params.json").read_text())["scale"]
        STATE["sleep"] = float(os.environ.get("PREDICTOR_SLEEP", "0"))
        STATE["batches"] = Path(os.environ["PREDICTOR_LOG"]) if "PREDICTOR_LOG" in os.environ else None

    def predict(batch):
        if STATE["batches"] is not None:
            with STATE["batches"].open("a") as fh:
                fh.write(f"{len(batch)}\\n")
        if STATE["sleep"]:
            time.sleep(STATE["sleep"])
        if np.any(batch[:, 0] == -999):
            raise RuntimeError("poisoned row")
        return batch[:, 0] * STATE["scale"]
''')


def custom_model(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "predictor.py").write_text(PREDICTOR)
    (root / "params.json").write_text('{"scale": 2.0}')
    signature = {"inputs": [{"name": "x", "dtype": "float64", "shape": [-1]},
                            {"name": "y", "dtype": "float64", "shape": [-1]}],
                 "outputs": [{"name": "doubled", "dtype": "float64", "shape": [-1]}]}
    write_manifest(root, framework="python", model_file="predictor.py", signature=signature)
    return root
