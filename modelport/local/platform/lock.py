"""One `modelport local up` per state directory: an exclusive lock on `<state>/local.lock`.

`flock` is released by the kernel when its holder dies, so a stale lock (a crashed or
killed run) never blocks the next start; the pid written inside only names the holder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StateDirLocked(RuntimeError):
    """Another running `modelport local up` holds this state directory."""


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "local.lock"
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirLocked(
                f"another `modelport local up` (pid {holder}) is using {self.path.parent}; "
                "stop it first or choose another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
