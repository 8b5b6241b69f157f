"""Launching container entry points as local processes (the seam tests can replace)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: variables of the platform's environment a child may see: how to find programs and
#: libraries, locale and time zone, and thread-count knobs of the numeric libraries.
#: Nothing else: no AWS credentials or endpoint, no `MODELPORT_*` setting of the platform,
#: no API key. What a child needs beyond these its spec gives it (the container contract).
_INHERITED = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
_INHERITED_PREFIXES = ("LC_", "OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_")


class ProcessHandle(Protocol):
    """What the local SageMaker needs of a process (`subprocess.Popen` has it)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class LaunchSpec:
    """`python -m <module>` with the environment `env` (on top of a minimal base, see
    `child_environment`), output appended to `log_path`. `cwd` None: a private scratch
    directory (mode 0700, outside the state directory) that is removed when the process ends."""

    module: str
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    args: tuple[str, ...] = field(default=())


Launcher = Callable[[LaunchSpec], ProcessHandle]


class ChildProcess(subprocess.Popen):
    """A launched child; its scratch directory goes once it has ended."""

    scratch: Path | None = None

    def poll(self) -> int | None:
        code = super().poll()
        if code is not None:
            self._remove_scratch()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = super().wait(timeout)
        self._remove_scratch()
        return code

    def _remove_scratch(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def child_environment(extra: dict[str, str], home: Path) -> dict[str, str]:
    """A child's whole environment: the few platform variables of `_INHERITED`, a HOME and
    TMPDIR of its own, and `extra` (the container contract). Never the platform's secrets."""
    base = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith(_INHERITED_PREFIXES)}
    tmp = home / "tmp"
    tmp.mkdir(mode=0o700, exist_ok=True)
    # as the images' ENV does: no .pyc files beside a predictor (they would be unlisted
    # files in the artifact directory, which the next instance refuses)
    return {**base, "HOME": str(home), "TMPDIR": str(tmp), **extra,
            "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def launch(spec: LaunchSpec) -> ProcessHandle:
    """Default launcher: a child Python process in its own process group, with a minimal
    environment and (unless the spec names one) a private working directory."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="modelport-run-")) if spec.cwd is None else None
    cwd = spec.cwd or scratch
    assert cwd is not None
    try:
        with open(spec.log_path, "ab") as log:
            process = ChildProcess(
                [sys.executable, "-m", spec.module, *spec.args],
                env=child_environment(spec.env, cwd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal is for `local up`, not for them
            )
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    process.scratch = scratch
    return process


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
