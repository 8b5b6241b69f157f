"""`make demo`'s story, as a user runs it: `python -m modelport demo --exit`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.conftest import ROOT


def test_the_demo_story_runs_every_step(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "MOTO_"))}
    done = subprocess.run(
        [sys.executable, "-m", "modelport", "demo", "--exit", "--json", "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is True and [s["step"] for s in report["steps"]] == list(range(1, 15))
    assert all(s["ok"] for s in report["steps"])
    story = done.stderr
    for expected in ("FourEyesViolation", "curl -s -X POST", "/v2/models/churn/infer", "version 1.0.1",
                     "production → 1.0.1", "monthly_charges", "retrain_started", "hash chain intact",
                     "verified offline"):
        assert expected in story, expected
    assert "Traceback" not in story
