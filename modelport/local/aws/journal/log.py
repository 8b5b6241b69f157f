"""The write-ahead log of the embedded AWS: numbered segment files of framed records.

A record is `<length:u32><crc32:u32><payload>`. Appends are `os.write` calls on an
`O_APPEND` descriptor under one lock, so records never interleave; a crash can only cut
the last record short, and `read` stops at (and `open` truncates) the first frame that is
incomplete or fails its CRC: that record was never acknowledged.

`sync(upto)` makes every record up to sequence `upto` durable with one `fdatasync` for
everything appended so far (group commit): concurrent writers share a flush rather than
queueing one each. `rotate()` starts a new segment, so a snapshot can say "replay from
segment N" and the older segments can go once that snapshot is durable.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct("<II")
_SUFFIX = ".log"


def segment_name(number: int) -> str:
    return f"{number:012d}{_SUFFIX}"


def segments(root: Path) -> list[int]:
    """Segment numbers present under `root`, ascending."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.suffix == _SUFFIX and path.stem.isdigit():
            found.append(int(path.stem))
    return sorted(found)


def read(path: Path) -> tuple[list[bytes], int]:
    """The complete records of one segment and the byte length they cover."""
    data = path.read_bytes()
    records, offset = [], 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start, end = offset + _HEADER.size, offset + _HEADER.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        records.append(data[start:end])
        offset = end
    return records, offset


def fsync_dir(path: Path) -> None:
    """Make a file's creation, rename or removal in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Log:
    """Appends to the newest segment under `root`; thread-safe."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self._fsync = fsync
        self._lock = threading.Lock()  # appends and the current segment
        self._sync_lock = threading.Lock()  # one flush at a time; taken before _lock
        self._fd = -1
        self.segment = 0
        self._written = 0  # sequence number of the last record appended
        self._synced = 0
        self.bytes_in_segment = 0

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Continue the newest segment (its torn tail cut off), or start segment 1."""
        self.root.mkdir(parents=True, exist_ok=True)
        existing = segments(self.root)
        if existing:
            self.segment = existing[-1]
            path = self.root / segment_name(self.segment)
            _, length = read(path)
            with open(path, "r+b") as handle:
                handle.truncate(length)
                os.fsync(handle.fileno())
            self.bytes_in_segment = length
        else:
            self.segment = 1
            self.bytes_in_segment = 0
        self._fd = os.open(self.root / segment_name(self.segment), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_dir(self.root)

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if self._fd >= 0:
                if self._fsync:
                    os.fdatasync(self._fd)
                os.close(self._fd)
                self._fd = -1
            self._synced = self._written

    # -- writing --------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Write one record (not yet durable); returns its sequence number for `sync`."""
        frame = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if self._fd < 0:
                raise RuntimeError("the journal is closed")
            view = memoryview(frame)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._written += 1
            self.bytes_in_segment += len(frame)
            return self._written

    @property
    def written(self) -> int:
        return self._written

    def sync(self, upto: int | None = None) -> None:
        """Return once every record up to `upto` (default: all appended) is on disk."""
        target = self._written if upto is None else upto
        if self._synced >= target:
            return
        with self._sync_lock:
            if self._synced >= target:
                return  # another writer's flush covered this record
            with self._lock:
                fd, covered = self._fd, self._written
            if fd >= 0 and self._fsync:
                os.fdatasync(fd)
            self._synced = covered

    def rotate(self) -> int:
        """Make everything so far durable and continue in a new segment; returns its number."""
        with self._sync_lock, self._lock:
            if self._fsync:
                os.fdatasync(self._fd)
            os.close(self._fd)
            self._synced = self._written
            self.segment += 1
            self._fd = os.open(self.root / segment_name(self.segment),
                               os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.bytes_in_segment = 0
            if self._fsync:
                fsync_dir(self.root)
            return self.segment

    # -- reading and compaction -----------------------------------------------------------
    def replay_from(self, first: int) -> Iterator[bytes]:
        """Every record of segments >= `first`, oldest first (call before `open`)."""
        for number in segments(self.root):
            if number >= first:
                records, _ = read(self.root / segment_name(number))
                yield from records

    def drop_before(self, first: int) -> None:
        """Remove segments older than `first` (a durable snapshot covers them)."""
        for number in segments(self.root):
            if number < first:
                (self.root / segment_name(number)).unlink(missing_ok=True)
        if self._fsync and self.root.is_dir():
            fsync_dir(self.root)
