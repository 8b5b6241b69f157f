"""Monitoring in the browser: a drift check started from the console on drifted traffic, watched
to its end, drawn as drift per feature (against the policy's threshold), drift over time and
the live metric over time from posted labels."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd

from model_containers.artifact import write_manifest
from modelport import Client
from modelport.client.errors import InvalidInputError

CARD = {"intended_use": "x", "limitations": "y", "evaluation": "z", "training_data": "w"}


def test_drift_is_checked_and_drawn(tab, platform, admin: Client, key_for, shots, tmp_path, unique):
    name = f"watch-{unique}"
    admin.models.create({"name": name, "owner": "ops", "framework": "python", "policy": {
        "metric": "mae", "metric_direction": "minimize", "allow_code": True,
        "monitoring": {"schedule": None, "window_hours": 1, "min_samples": 50, "ground_truth": True}}})
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(10, 2, 1000), "x2": rng.uniform(0, 5, 1000)})
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text("import numpy as np\n\ndef load(d):\n    pass\n\n"
                                        "def predict(b):\n    return np.asarray(b, dtype=float).sum(axis=1)\n")
    write_manifest(model, framework="python", model_file="predictor.py", signature={"inputs": [
        {"name": "x1", "dtype": "float64", "shape": [-1]}, {"name": "x2", "dtype": "float64", "shape": [-1]}]})
    admin.push(name, model, version="1.0.0", card=CARD, metrics={"mae": 1.0},
               baseline=frame.assign(prediction=frame.x1 + frame.x2), baseline_predictions="prediction")
    admin.versions.submit(name, "1.0.0")
    key_for(["approver"]).versions.approve(name, "1.0.0")
    first = admin.deployments.start(name, "1.0.0", strategy="all_at_once:0s")
    assert admin.deployments.wait(name, first.id, timeout_s=120).status.value == "succeeded"

    # the world moved on x1: traffic three standard deviations off, half of it labelled later
    current = frame.head(120).assign(x1=lambda f: f.x1 + 6)
    answers = [admin.invoke(name, {"instances": [[row.x1, row.x2]]}) for row in current.itertuples()]
    platform.cloud.sagemaker.capture.flush()
    labels = [{"inference_id": a.inference_id, "label": float(r.x1 + r.x2 + 1.0)}
              for a, r in list(zip(answers, current.itertuples(), strict=True))[::2]]
    pairs = [(item["inference_id"], item["label"]) for item in labels]
    deadline = time.monotonic() + 60
    while True:  # the capture indexer sees the captures a moment after they are written
        try:
            admin.monitoring.feedback(name, pairs)
            break
        except InvalidInputError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)

    t = tab()
    page = t.sign_in(platform.admin_key)
    t.open(f"#/monitoring?model={name}")
    page.get_by_role("heading", name="production → 1.0.0").wait_for()
    page.get_by_role("button", name="Check for drift now").click()
    verdict = page.locator(".verdict").get_by_text(re.compile(r"^drift: x1(, prediction)? drifted$"))
    verdict.wait_for(timeout=90_000)
    bars = page.get_by_role("img", name=re.compile("^Drift per feature"))
    flagged = [t.split(":")[0] for t in bars.locator("rect.bar-flagged title").all_text_contents()]
    assert "x1" in flagged and "x2" not in flagged and bars.locator("rect.bar").count() >= 2
    assert "threshold 0.2" in bars.text_content()
    page.get_by_text("Live mae: 1 on 60 labelled rows").wait_for()
    charts = page.locator(".chart-canvas canvas")
    assert charts.count() == 2  # drift over time and the live metric over time
    assert page.locator("table.runs tbody tr").count() == 1
    shots(page, "monitoring")
