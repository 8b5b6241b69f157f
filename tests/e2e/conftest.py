"""`modelport local up` as a real process, once per module: the tests talk to it over HTTP
only, stop it with Ctrl-C (SIGINT) and start it again on the same state directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport import Client

ROOT = Path(__file__).resolve().parents[2]
#: settings of the local deployable for tests: fast health polls and baking checks, and a
#: snapshot every second so a stop never waits on a large final write.
ENV = {
    "MODELPORT_LOCAL_HEALTH_POLL_S": "0.05",
    "MODELPORT_LOCAL_HEALTH_TIMEOUT_S": "30",
    "MODELPORT_LOCAL_BAKE_CHECK_S": "0.25",
    "MODELPORT_LOCAL_ROLLBACK_MIN_INVOCATIONS": "4",
    "MODELPORT_LOCAL_SNAPSHOT_INTERVAL_S": "1",
}
CARD = {"intended_use": "e2e", "limitations": "none", "evaluation": "none", "training_data": "none"}


class LocalUp:
    """One `python -m modelport local up --json` process."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout_s: float = 60.0) -> LocalUp:
        env = {**os.environ, **ENV}
        for name in [n for n in env if n.startswith(("AWS_ENDPOINT_URL", "MODELPORT_TABLE", "MOTO_"))]:
            env.pop(name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelport", "local", "up", "--state-dir", str(self.state_dir), "--port", "0", "--json"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"local up exited ({self.process.wait()}): {self.process.stderr.read()[-2000:]}")
            lines.append(line)
            if line.rstrip() == "}":
                self.info = json.loads("".join(lines))
                return self
        raise TimeoutError("local up did not get ready")

    def stop(self) -> int:
        """Ctrl-C, as a user would; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing gets to clean up."""
        assert self.process is not None
        self.process.kill()
        self.reap()

    def reap(self) -> int:
        """Wait for the process (killed or ended) and close its pipes."""
        assert self.process is not None
        code = self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()
        return code

    @property
    def url(self) -> str:
        return self.info["api_url"]

    @property
    def admin_key(self) -> str:
        return self.info["admin_key"]

    def aws_keys(self) -> dict[str, str]:
        """The running embedded AWS's key (what `modelport local aws-env` shows)."""
        from modelport.local.aws import credentials

        found = credentials.read(self.state_dir)
        assert found is not None, "no embedded AWS runs in this state directory"
        return {"aws_access_key_id": found["aws_access_key_id"], "aws_secret_access_key": found["aws_secret_access_key"]}

    def client(self, token: str | None = None) -> Client:
        return Client(self.url, token or self.admin_key, max_retries=1)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    up = LocalUp(tmp_path_factory.mktemp("e2e-state")).start()
    yield up
    if up.process is not None and up.process.poll() is None:
        up.stop()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:6]


def python_model(root: Path, *, offset: float = 0.0, fail: bool = False) -> Path:
    """A model whose prediction is the row sum + offset (or that raises on every request)."""
    root.mkdir(parents=True, exist_ok=True)
    body = "    raise RuntimeError('this version is broken')\n" if fail else \
        f"    return np.asarray(batch, dtype=float).sum(axis=1) + {offset!r}\n"
    (root / "predictor.py").write_text("import numpy as np\n\ndef load(model_dir):\n    pass\n\ndef predict(batch):\n" + body)
    return root


def publish_approved(admin: Client, approver: Client, name: str, version: str, model_dir: Path) -> None:
    admin.push(name, model_dir, version=version, card=CARD)
    admin.versions.submit(name, version)
    approver.versions.approve(name, version)
