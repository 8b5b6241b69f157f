"""`push --baseline`, `monitor run|status|report|feedback` on a running local platform: a
model trained elsewhere gets a baseline from its training table, and its traffic is checked."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import CARD, model_dir, ok, one_error_line


def test_a_pushed_baseline_is_monitored_from_the_cli(cli, platform, token, tmp_path, unique, monkeypatch) -> None:
    name = f"m-{unique}"
    table = tmp_path / "train.csv"
    table.write_text("a,b,y\n" + "".join(f"{i % 20},{(i * 7) % 11},{(i % 20) + (i * 7) % 11}\n" for i in range(400)))
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team", "--allow-code"))
    labels = tmp_path / "labels.csv"
    labels.write_text("inference_id,label\nany,1\n")
    one_error_line(cli("monitor", "feedback", name, str(labels)), "GroundTruthDisabled", "HTTP 409")
    ok(cli("models", "update", name, "--patch", '{"policy": {"monitoring": {"ground_truth": true}}}'))
    pushed = ok(cli("push", str(model_dir(tmp_path)), "-m", name, "--version", "1.0.0", *CARD,
                    "--baseline", str(table), "--target", "y"))
    assert "baseline profile sha256" in pushed
    one_error_line(cli("monitor", "run", name), "AliasNotFound", "HTTP 404")
    ok(cli("submit", name, "1.0.0"))
    ok(cli("approve", name, "1.0.0", key=token(["approver"])))
    ok(cli("deploy", name, "1.0.0", "--wait"))
    ids = [json.loads(ok(cli("invoke", name, "--data", f"[[{40 + i % 7}, {i % 11}]]", "--json")))["inference_id"]
           for i in range(12)]  # `a` far above anything training saw
    platform.cloud.sagemaker.capture.flush()  # captures reach S3 within a second; do not race them

    shown = ok(cli("monitor", "run", name))
    assert "▸ prepare" in shown and "▸ done" in shown
    assert "insufficient_data" in shown  # 12 rows, the policy's minimum is 100
    status = json.loads(ok(cli("monitor", "status", name, "--json")))
    [production] = status["aliases"]
    run = production["latest"]
    assert run["rows"] == 12 and run["statuses"]["a"] == "insufficient_data"
    assert "rate(1 day)" == production["schedule"]
    page = tmp_path / "report.html"
    assert str(page) in ok(cli("monitor", "report", name, run["id"], "--save", str(page)))
    assert page.read_text().startswith("<!doctype html>")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    shown = ok(cli("monitor", "report", name, run["id"], "--open"))
    assert "insufficient" in shown and len(opened) == 1 and opened[0].startswith("file://")
    assert "<!doctype html>" in Path(opened[0].removeprefix("file://")).read_text()

    labels.write_text("inference_id,label\n" + "".join(f"{i},{n}\n" for n, i in enumerate(ids[:5])))
    assert "5 labels stored, 0 already there" in ok(cli("monitor", "feedback", name, str(labels)))
    labels.write_text("inference_id,label\nnot-an-id,1\n")
    one_error_line(cli("monitor", "feedback", name, str(labels)), "UnknownInferenceId", "HTTP 400")
