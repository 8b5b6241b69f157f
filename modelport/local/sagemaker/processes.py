"""Launching container entry points as local processes (the seam tests can replace)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class ProcessHandle(Protocol):
    """What the local SageMaker needs of a process (`subprocess.Popen` has it)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class LaunchSpec:
    """`python -m <module>` with extra environment, output appended to `log_path`."""

    module: str
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    args: tuple[str, ...] = field(default=())


Launcher = Callable[[LaunchSpec], ProcessHandle]


def launch(spec: LaunchSpec) -> ProcessHandle:
    """Default launcher: a child Python process in its own process group."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    # The child inherits this environment (virtualenv, PATH) plus the container contract.
    env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
    with open(spec.log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", spec.module, *spec.args],
            env=env,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal is for `local up`, not for them
        )


def stop(process: ProcessHandle, grace_s: float = 5.0) -> int | None:
    """SIGTERM, then SIGKILL after `grace_s`; also reaps the process's own children."""
    stop_many([process], grace_s)
    return process.poll()


def stop_many(processes: list[ProcessHandle], grace_s: float = 5.0) -> None:
    """Stop several processes at once: all get SIGTERM first, stragglers SIGKILL."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM) or process.terminate()
    for process in running:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL) or process.kill()
            process.wait(timeout=grace_s)


def _signal_group(process: ProcessHandle, sig: int) -> bool:
    """Signal the process group the default launcher created (workers included)."""
    if not isinstance(process, subprocess.Popen):
        return False
    try:
        if os.getpgid(process.pid) != process.pid:
            return False
        os.killpg(process.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def free_port(host: str) -> int:
    """A currently free TCP port on `host` (the child binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
