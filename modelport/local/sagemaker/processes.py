"""Launching container entry points as local processes (the seam tests can replace).

Every process the local SageMaker starts (endpoint instances, training jobs, drift jobs:
any `LaunchSpec` with `processes` set) runs in its own process group, carries the
`MODELPORT_LOCAL_PROCESSES` marker in its environment and gets a pid file in that
directory while it runs. A platform that was killed cannot stop its children; the next
start finds them by their pid files, or by the marker in `/proc/<pid>/environ` when the
kill came between the spawn and the pid file, and stops their process groups
(`reap_orphans`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: environment variable naming the pid-file directory of the platform that started a process
MARKER = "MODELPORT_LOCAL_PROCESSES"
#: variables of the platform's environment a child may see: how to find programs and
#: libraries, locale and time zone, and thread-count knobs of the numeric libraries.
#: Nothing else: no AWS credentials or endpoint, no `MODELPORT_*` setting of the platform,
#: no API key. What a child needs beyond these its spec gives it (the container contract).
_INHERITED = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
_INHERITED_PREFIXES = ("LC_", "OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_")
#: what runs a child that is kept out of the state directory (`LaunchSpec.private`)
SANDBOX_MODULE, SANDBOX_ENV = "modelport.local.sandbox", "MODELPORT_SANDBOX"


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
    #: the pid-file directory of the platform starting it (None: not tracked)
    processes: Path | None = None
    #: what it is, for reports: `endpoint`, `training`, `drift`, ...
    kind: str = ""
    #: whose it is: the endpoint or job name
    owner: str = ""
    #: a directory the process may not reach (the state directory; `modelport.local.sandbox`),
    #: but for `readable` and `writable` paths inside it (its model or job directory)
    private: Path | None = None
    readable: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()


Launcher = Callable[[LaunchSpec], ProcessHandle]


def tracked(launcher: Launcher, processes: Path, private: Path | None = None) -> Launcher:
    """`launcher`, with every spec it starts tracked in `processes` (unless it names its own)
    and kept out of `private` (the state directory) unless it names another."""

    def launch_tracked(spec: LaunchSpec) -> ProcessHandle:
        if spec.processes is None:
            spec = dataclasses.replace(spec, processes=processes)
        if spec.private is None and private is not None:
            spec = dataclasses.replace(spec, private=private)
        return launcher(spec)

    return launch_tracked


class ChildProcess(subprocess.Popen):
    """A launched child; its scratch directory and pid file go once it has ended."""

    scratch: Path | None = None
    pid_file: Path | None = None

    def poll(self) -> int | None:
        code = super().poll()
        if code is not None:
            self._ended()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = super().wait(timeout)
        self._ended()
        return code

    def _ended(self) -> None:
        self._remove_scratch()
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
            self.pid_file = None

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
    extra = dict(spec.env)
    if spec.processes is not None:  # how a later start finds it, should this platform be killed
        spec.processes.mkdir(parents=True, exist_ok=True)
        extra[MARKER] = str(spec.processes.resolve())
    command = [sys.executable, "-m", spec.module, *spec.args]
    if spec.private is not None:  # the entry point starts inside the sandbox
        command[2:3] = [SANDBOX_MODULE, spec.module]
        extra[SANDBOX_ENV] = json.dumps({"hidden": str(spec.private), "read": [str(p) for p in spec.readable],
                                         "write": [str(p) for p in spec.writable]})
    try:
        with open(spec.log_path, "ab") as log_file:
            process = ChildProcess(
                command,
                env=child_environment(extra, cwd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal is for `local up`, not for them
            )
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    process.scratch = scratch
    if spec.processes is not None:
        process.pid_file = spec.processes / f"{process.pid}.json"
        record = {"pid": process.pid, "started": _start_ticks(process.pid), "kind": spec.kind,
                  "owner": spec.owner, "module": spec.module, "log": str(spec.log_path)}
        process.pid_file.write_text(json.dumps(record))
    return process


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22):
    with the pid, it names one process, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def reap_orphans(processes: Path, grace_s: float = 5.0) -> list[dict]:
    """Stop the process groups a killed platform left behind; what was stopped, and how found."""
    found: dict[int, dict] = {}
    if processes.is_dir():
        for path in processes.glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                record = {"pid": int(path.stem)} if path.stem.isdigit() else None
            path.unlink(missing_ok=True)
            if record and _start_ticks(record["pid"]) is not None and (
                record.get("started") in (None, _start_ticks(record["pid"]))
            ):
                found[record["pid"]] = {**record, "found_by": "pid file"}
    marker = f"{MARKER}={processes.resolve()}".encode()
    for pid in _marked(marker):
        leader = _group_of(pid)
        if leader not in found and pid not in found:
            found[leader or pid] = {"pid": leader or pid, "kind": "", "owner": "", "found_by": "environment marker"}
    for record in found.values():
        _stop_group(record["pid"], grace_s)
        log.warning("stopped %s process %s (%s) left by a platform that did not stop cleanly; found by %s",
                    record.get("kind") or "a", record["pid"], record.get("owner") or "?", record["found_by"])
    return sorted(found.values(), key=lambda r: r["pid"])


def _marked(marker: bytes) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _stop_group(pid: int, grace_s: float) -> None:
    """SIGTERM the group led by `pid`, SIGKILL what is left after `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited (its parent died)


def log_reference(path: Path) -> str:
    """How a message that may reach a caller names a log file: its place in the state
    directory (`sagemaker/logs/<endpoint>/<file>`), never the host's absolute path."""
    return "/".join(path.parts[-4:]) + " (in the local state directory)"


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
