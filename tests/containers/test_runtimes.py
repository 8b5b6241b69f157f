"""Each runtime behind a real server process, with a tiny model built here."""

from __future__ import annotations

import numpy as np
import pytest

from tests.containers.models import FEATURES, N_FEATURES, data

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")

KINDS = ["pickle-allowed", "pickle-refused", "xgb-json", "xgb-ubj", "onnx", "torchscript", "custom"]
#: the platform passes the model's policy; "pickle-allowed" is allowed by both policy and manifest.
POLICY_ALLOWS_PICKLE = {"pickle-allowed": {"MODELPORT_ALLOW_PICKLE": "true"}}
NOT_READY = {"pickle-refused", "pickle-manifest-only"}


@pytest.fixture(scope="module")
def servers(serve, artifacts):
    # Start every process first and wait afterwards, so their start-ups overlap.
    launched = {kind: serve(artifacts(kind), **POLICY_ALLOWS_PICKLE.get(kind, {})) for kind in KINDS}
    # The manifest allows pickle, but the platform does not pass a policy that does.
    launched["pickle-manifest-only"] = serve(artifacts("pickle-allowed"))
    for kind, server in launched.items():
        server.wait(ready=kind not in NOT_READY)
    return launched


@pytest.fixture(scope="module")
def X():
    return data(n=5, seed=9)[0]


def _predict(server, rows):
    with server.client() as http:
        response = http.post("/invocations", json={"instances": rows})
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_pickle_served_only_when_policy_allows(servers, artifacts, X):
    import joblib

    model = joblib.load(artifacts("pickle-allowed") / "model.joblib")
    assert _predict(servers["pickle-allowed"], X.tolist()) == model.predict(X).tolist()
    assert "policy and manifest allow pickle" in servers["pickle-allowed"].logs()


@pytest.mark.parametrize("kind", ["pickle-refused", "pickle-manifest-only"])
def test_pickle_refused_with_clear_error(servers, X, kind):
    refused = servers[kind]
    with refused.client() as http:
        assert http.get("/ping").status_code == 503
        response = http.post("/invocations", json={"instances": X.tolist()})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "model_not_ready"
        assert http.get("/v2/health/ready").status_code == 503
    logs = refused.logs()
    assert "model.joblib is a pickle" in logs and "does not allow pickle" in logs


@pytest.mark.parametrize("kind", ["xgb-json", "xgb-ubj"])
def test_xgboost(servers, artifacts, X, kind):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(artifacts(kind) / f"model.{kind.split('-')[1]}"))
    expected = booster.inplace_predict(X)
    np.testing.assert_allclose(_predict(servers[kind], X.tolist()), expected, rtol=1e-6)
    with servers[kind].client() as http:
        meta = http.get("/v2/models/model").json()
    assert meta["platform"] == "xgboost" and meta["outputs"][0]["datatype"] == "FP32"


def test_onnx_two_outputs(servers, artifacts, X):
    import onnxruntime as ort

    session = ort.InferenceSession(str(artifacts("onnx") / "model.onnx"), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {"X": X.astype(np.float32)})
    out = _predict(servers["onnx"], X.tolist())
    assert out["label"] == label.tolist()
    np.testing.assert_allclose(out["probabilities"], proba, rtol=1e-6)
    with servers["onnx"].client() as http:
        body = {"inputs": [{"name": "X", "datatype": "FP32", "shape": list(X.shape),
                            "data": X.astype(np.float32).ravel().tolist()}],
                "outputs": [{"name": "probabilities"}]}
        oip = http.post("/v2/models/model/infer", json=body).json()
        wrong_name = http.post("/v2/models/model/infer", json={**body, "inputs": [{**body["inputs"][0], "name": "Y"}]})
    (only,) = oip["outputs"]
    assert only["name"] == "probabilities" and only["shape"] == [len(X), 2] and only["datatype"] == "FP32"
    assert wrong_name.status_code == 400 and "X" in wrong_name.json()["error"]


def test_torchscript(servers, artifacts, X):
    import torch

    module = torch.jit.load(str(artifacts("torchscript") / "model.pt"))
    with torch.inference_mode():
        expected = module(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(_predict(servers["torchscript"], X.tolist()), expected, rtol=1e-5)
    with servers["torchscript"].client() as http:
        bad_shape = http.post("/invocations", json={"instances": [[1.0] * (N_FEATURES + 1)]})
    assert bad_shape.status_code == 400 and "[nx4]" in bad_shape.json()["error"]["message"]


def test_custom_predictor(servers, X):
    custom = servers["custom"]
    rows = X[:, :2].tolist()
    assert _predict(custom, rows) == (X[:, 0] * 2.0).tolist()
    with custom.client() as http:
        named = http.post("/invocations", json={"dataframe_split": {"columns": ["y", "x"],
                                                                    "data": [[5.0, 1.5]]}})
        assert named.json() == {"predictions": [3.0]}
        meta = http.get("/v2/models/model").json()
    assert meta["platform"] == "python" and [i["name"] for i in meta["inputs"]] == ["x", "y"]


def test_feature_names_irrelevant_to_positional_runtimes(servers, X):
    # The same columns sent by name through MLflow's records format give the same answer.
    records = [dict(zip(FEATURES, row)) for row in X.tolist()]
    with servers["xgb-json"].client() as http:
        by_name = http.post("/invocations", json={"dataframe_records": records}).json()
    assert by_name["predictions"] == _predict(servers["xgb-json"], X.tolist())
