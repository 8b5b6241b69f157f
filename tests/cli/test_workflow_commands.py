"""`deploy --wait`, `invoke`, `deployments`, `datasets upload` and `retrain status` on a
running local platform (the deploy and retrain workflows run in the embedded AWS)."""

from __future__ import annotations

import json

from functions.core.endpoints import endpoint_name
from tests.cli.test_commands import CARD, model_dir, ok, one_error_line


def test_deploy_waits_showing_steps_then_invoke(cli, token, tmp_path, unique) -> None:
    name = f"d-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team", "--allow-code"))
    ok(cli("push", str(model_dir(tmp_path, 10.0)), "-m", name, "--version", "1.0.0", *CARD))
    ok(cli("submit", name, "1.0.0"))
    ok(cli("approve", name, "1.0.0", key=token(["approver"])))
    shown = ok(cli("deploy", name, "1.0.0", "--to", "production", "--strategy", "all_at_once", "--wait"))
    for step in ("validate", "create_endpoint", "wait_endpoint", "move_alias", "done"):
        assert f"▸ {step}" in shown, shown
    assert f"deployed {name} 1.0.0 as production on endpoint {endpoint_name('local', name, 'production')}" in shown
    answer = json.loads(ok(cli("invoke", name, "--data", "[[1, 2]]", "--json")))
    assert answer["status"] == 200 and answer["body"] == {"predictions": [13.0]} and answer["variant"]
    request = tmp_path / "oip.json"
    request.write_text(json.dumps({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}))
    oip = json.loads(ok(cli("invoke", name, "--oip", "--data", f"@{request}", "--json")))
    assert oip["body"]["outputs"][0]["data"] == [13.0]
    assert "13.0" in ok(cli("invoke", name, "--oip", "--data", f"@{request}"))
    listed = json.loads(ok(cli("deployments", "list", name, "--json")))
    assert [d["status"] for d in listed] == ["succeeded"]
    one_error_line(cli("invoke", name, "--version", "9.9.9", "--data", "[[1]]"), "VersionNotFound", "HTTP 403")
    one_error_line(cli("deploy", name, "1.0.0", "--instance-type", "ml.p9.huge"), "HTTP 400")


def test_a_dataset_upload_retrains_and_status_follows(cli, tmp_path, unique) -> None:
    name = f"r-{unique}"
    ok(cli("models", "create", name, "--framework", "sklearn", "--owner", "team", "--trainer", "tabular", "--hp", "target=y"))
    data = tmp_path / "train.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 9},{(i * 7) % 5},{int(i % 9 > 4)}\n" for i in range(150)))
    shown = ok(cli("datasets", "upload", name, str(data), "--follow"))
    assert "▸ train" in shown and "▸ evaluate" in shown
    assert "version 0.0.1" in shown or "→ version" in shown, shown
    retrains = json.loads(ok(cli("retrain", "status", name, "--json")))
    assert len(retrains) == 1 and retrains[0]["status"] == "succeeded" and retrains[0]["new_version"]
    one = json.loads(ok(cli("retrain", "status", name, retrains[0]["id"], "--json")))
    assert one["dataset"]["sha256"] and one["training_job"]
    version = json.loads(ok(cli("versions", "show", name, one["new_version"], "--json")))
    assert version["lineage"]["dataset_uri"] == f"s3://{one['dataset']['bucket']}/{one['dataset']['key']}"
    assert version["lineage"]["training_job"] == one["training_job"]
