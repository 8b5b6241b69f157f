"""Atomic files in the local state directory: JSON documents and content-addressed blobs.

Every write goes to a temporary file in the same directory, is flushed to disk and then
renamed over the target, so a crash leaves either the old or the new file, never half
of one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import orjson


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json_atomic(path: Path, document: Any) -> None:
    write_bytes_atomic(path, orjson.dumps(document, option=orjson.OPT_INDENT_2))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return default


class BlobStore:
    """Content-addressed blobs (`<sha256>` files) so unchanged data is written once.

    `put` makes the blob durable (file and directory entry) before it returns, so a
    journal record naming it can be acknowledged. `keep_only` removes blobs nothing refers
    to any more; blobs put since the previous `keep_only`, and blobs pinned by a request
    whose journal record is not written yet, are always kept.
    """

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self._fsync = fsync
        self._lock = threading.Lock()  # a rename into place vs. removal of unreferenced blobs
        self._recent: set[str] = set()
        self._pinned: dict[str, int] = {}

    def pin(self, digest: str) -> None:
        with self._lock:
            self._pinned[digest] = self._pinned.get(digest, 0) + 1

    def unpin(self, digest: str) -> None:
        with self._lock:
            left = self._pinned.get(digest, 0) - 1
            if left > 0:
                self._pinned[digest] = left
            else:
                self._pinned.pop(digest, None)

    def path(self, digest: str) -> Path:
        return self.root / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest
        with self._lock:
            self._recent.add(digest)
            if path.exists():
                return digest
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{digest}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self._fsync:
                    os.fdatasync(handle.fileno())
            with self._lock:
                self._recent.add(digest)
                os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self._fsync:
            fsync_dir(self.root)
        return digest

    def get(self, digest: str) -> bytes:
        return (self.root / digest).read_bytes()

    def has(self, digest: str) -> bool:
        return (self.root / digest).exists()

    def keep_only(self, digests: set[str]) -> None:
        """Remove blobs no snapshot refers to any more (nor any put since the last call)."""
        if not self.root.exists():
            return
        with self._lock:
            keep = digests | self._recent | set(self._pinned)
            self._recent = set()
            for path in self.root.iterdir():
                if path.name not in keep and not path.name.startswith("."):
                    path.unlink(missing_ok=True)

    def remove_temporary(self) -> None:
        """Temporary files a crash left behind (call before anything writes blobs)."""
        if self.root.exists():
            for path in self.root.glob(".*.tmp"):
                path.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    """Make a creation, rename or removal in the directory `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateDirInUse(RuntimeError):
    """Another `modelport local` holds the state directory."""


class StateLock:
    """An exclusive lock on a state directory, held while local mode runs (fcntl.flock:
    released by the kernel if the process dies, so a crash leaves no stale lock)."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / "lock"
        self._handle: Any = None

    def acquire(self) -> None:
        import fcntl

        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+")  # noqa: SIM115 - held open while the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateDirInUse(
                f"the state directory {self._path.parent} is in use by {holder}; stop that "
                "`modelport local` first, or give this one another state directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"modelport local (pid {os.getpid()})")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the flock
            self._handle = None


class PrivateState:
    """The state directory is its user's alone: 0700, nothing in it readable by others.

    `enter()` (at each start) makes the directory 0700 and sets the process umask to 077
    while any local cloud runs, so every file and directory created later (datasets, logs,
    captures, artifacts, snapshots) is 0600/0700, the subprocesses' included; the last
    `leave()` puts the previous umask back. `tighten()` fixes what an earlier run left looser.
    """

    _lock = threading.Lock()
    _holders = 0
    _saved = 0o022

    def __init__(self, state_dir: Path) -> None:
        self._root = state_dir
        self._entered = False

    def enter(self) -> None:
        with PrivateState._lock:
            if PrivateState._holders == 0:
                PrivateState._saved = os.umask(0o077)
            PrivateState._holders += 1
            self._entered = True
        self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._root.chmod(0o700)

    def leave(self) -> None:
        with PrivateState._lock:
            if not self._entered:
                return
            self._entered = False
            PrivateState._holders -= 1
            if PrivateState._holders == 0:
                os.umask(PrivateState._saved)


def tighten(root: Path) -> None:
    """Remove group and other permissions from `root` and everything below it (links are
    left alone: their targets may be outside the state directory)."""
    import stat

    for path in (root, *root.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue  # removed meanwhile
        if not stat.S_ISLNK(mode) and mode & 0o077:
            path.chmod(stat.S_IMODE(mode) & 0o700)
