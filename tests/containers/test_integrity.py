"""Artifact integrity: a tampered file keeps the server unready and names the file."""

from __future__ import annotations

import shutil

import pytest

from model_containers import artifact
from model_containers.errors import UnsafeModel


@pytest.fixture(scope="module")
def tampered(serve, artifacts, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("tampered") / "model"
    shutil.copytree(artifacts("custom"), model_dir)
    with (model_dir / "params.json").open("a") as fh:
        fh.write(" ")  # one byte more than was hashed
    return serve(model_dir).wait(ready=False)


def test_tampered_artifact_stays_unready_and_logs_the_file(tampered):
    with tampered.client() as http:
        assert http.get("/ping").status_code == 503
        assert http.get("/v2/health/ready").status_code == 503
        assert http.get("/v2/models/model/ready").status_code == 503
        response = http.post("/invocations", json={"instances": [[1.0, 2.0]]})
        assert response.status_code == 503 and response.json()["error"]["code"] == "model_not_ready"
        assert http.get("/v2/health/live").status_code == 200
    logs = tampered.logs()
    assert "params.json: SHA-256 mismatch" in logs
    assert "predictor.py" not in logs.split("integrity check failed")[1].splitlines()[0]


def test_verify_tree_names_missing_and_unlisted_files(artifacts, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(artifacts("custom"), model_dir)
    files = artifact.read_manifest(model_dir)["files"]
    assert artifact.verify_tree(model_dir, files) == []
    (model_dir / "params.json").unlink()
    (model_dir / "extra.py").write_text("print('not hashed')\n")
    assert artifact.verify_tree(model_dir, files) == [
        "params.json: listed in modelport.json but missing",
        "extra.py: present but not listed in modelport.json",
    ]


def test_skops_with_foreign_function_is_refused(tmp_path):
    import json

    import numpy as np
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from model_containers.runtimes.sklearn import load_skops

    model = FunctionTransformer(func=json.dumps).fit(np.zeros((2, 1)))
    sio.dump(model, tmp_path / "model.skops")
    with pytest.raises(UnsafeModel, match="json.dumps"):
        load_skops(tmp_path / "model.skops")


def test_skops_forest_loads_with_expected_untrusted_types(artifacts):
    from model_containers.runtimes.sklearn import load_skops

    model = load_skops(artifacts("skops") / "model.skops")
    assert type(model).__name__ == "RandomForestClassifier"


@pytest.mark.parametrize("name", ["scipy._lib._ccallback.PyCFuncPtr", "sklearn.callback._transport.Listener",
                                  "numpy.ctypeslib.c_intp", "sklearn.utils.Bunch", "numpy.core.multiarray.scalar"])
def test_skops_trusts_a_class_only_by_its_real_module_and_the_allowlist(name):
    """Issue 10: the module named in a type string was trusted, not the class's real module, so
    ctypes' CFuncPtr and multiprocessing's Listener passed as scikit-learn/scipy parts."""
    from model_containers.runtimes.sklearn import _is_expected_class

    assert not _is_expected_class(name)


def test_the_allowlisted_estimator_parts_resolve_where_they_live():
    from model_containers.runtimes.sklearn import SKOPS_CLASSES, _is_expected_class

    assert all(_is_expected_class(name) for name in SKOPS_CLASSES)
