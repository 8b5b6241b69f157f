"""Run the containers' entry points as processes, exactly as the Dockerfiles do."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS = ROOT / "model_containers"


def dockerfile_entrypoint(dockerfile: Path) -> list[str]:
    """The exec-form ENTRYPOINT of a Dockerfile, as a list."""
    text = dockerfile.read_text()
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.MULTILINE)
    if match is None:
        raise AssertionError(f"{dockerfile.name} has no exec-form ENTRYPOINT")
    return json.loads(match.group(1))


def dockerfile_copies(dockerfile: Path) -> dict[str, str]:
    """``{destination: source}`` for every single-source COPY of a Dockerfile."""
    copies = {}
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and len(parts) == 3:
            copies[parts[2]] = parts[1]
    return copies


def entry_command(mode: str, dockerfile: Path = CONTAINERS / "Dockerfile.cpu") -> list[str]:
    """The command the image runs for ``mode`` (serve/train), mapped back to the repo file."""
    (entry,) = dockerfile_entrypoint(dockerfile)
    source = dockerfile_copies(dockerfile)[entry]
    return ["sh", str(ROOT / source), mode]


def process_env(**extra: str) -> dict[str, str]:
    """The test environment: this venv's ``python`` first on PATH (as in the image)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MODELPORT_", "SM_", "SAGEMAKER_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, *, ready: bool = True, timeout: float = 90) -> Server:
        """Wait until /ping says 200 (``ready``) or the log says the model is not served."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            if not ready and "model not served" in self.logs():
                return self
            try:
                if httpx.get(self.url + "/ping", timeout=2).status_code == 200:
                    if ready:
                        return self
                    raise AssertionError("server became ready but was expected not to")
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not {'ready' if ready else 'failed'} in {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(model_dir: Path, log_dir: Path, **env: str) -> Server:
    """Start ``serve`` on a free loopback port with one worker; does not wait."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"serve-{port}.log"
    environment = process_env(**{"MODELPORT_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": str(port),
                                 "MODELPORT_HOST": "127.0.0.1", "MODELPORT_WORKERS": "1", **env})
    with log.open("wb") as fh:
        proc = subprocess.Popen(entry_command("serve"), env=environment, cwd=ROOT,
                                stdout=fh, stderr=subprocess.STDOUT)
    return Server(proc=proc, port=port, log=log)


def run_training(ml_root: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(entry_command("train"), env=process_env(MODELPORT_ML_ROOT=str(ml_root), **env),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
