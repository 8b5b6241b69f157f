"""The training process records which code produced its output (`modelport.json` `code`)."""

import json

from model_containers.artifact import MANIFEST_NAME, read_manifest, verify_tree, write_manifest
from model_containers.training.provenance import code_identity, record_code, tree_digest


def test_the_reference_trainer_names_itself_and_hashes_its_code(tmp_path):
    identity = code_identity(None, None)
    assert identity["trainer"] == "modelport-tabular" and len(identity["sha256"]) == 64
    assert identity == code_identity(None, None)  # the same code, the same digest


def test_custom_code_is_hashed_over_the_whole_code_channel(tmp_path):
    code = tmp_path / "code"
    (code / "lib").mkdir(parents=True)
    (code / "train.py").write_text("def train(ctx):\n    pass\n")
    (code / "lib" / "features.py").write_text("X = 1\n")
    first = code_identity(code / "train.py", code)
    assert (first["trainer"], first["version"]) == ("custom:train.py", None)
    (code / "lib" / "features.py").write_text("X = 2\n")  # a helper changed: so did the code
    assert code_identity(code / "train.py", code)["sha256"] != first["sha256"]
    assert tree_digest(code, [code / "train.py"]) != tree_digest(code, [code / "train.py", code / "lib" / "features.py"])


def test_recording_keeps_the_artifact_intact(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text("def load(d): pass\ndef predict(b): return b\n")
    write_manifest(model, framework="python", model_file="predictor.py", signature={})
    assert record_code(model, {"trainer": "modelport-tabular", "version": "1.0", "sha256": "ab" * 32})
    manifest = read_manifest(model)
    assert manifest["code"]["sha256"] == "ab" * 32
    assert verify_tree(model, manifest["files"]) == []  # the manifest does not list itself
    assert not record_code(tmp_path / "empty", {"trainer": "x"})
    assert json.loads((model / MANIFEST_NAME).read_text())["framework"] == "python"
