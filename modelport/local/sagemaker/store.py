"""The local SageMaker's records (models, endpoint configs, endpoints, training and processing jobs).

Records are kept in the shape of the matching `Describe*` output (timestamps as epoch
seconds), so answering a `Describe*` is shaping a copy. Every change writes that one
record to `<state_dir>/sagemaker/records/<kind>/<name>.json` atomically (and fsynced)
before the change returns, so a crash loses no change and a change costs one record,
however many there are. A `state.json` of an older version is split into records once.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from modelport.local.statefiles import fsync_dir, read_json, write_json_atomic

KINDS = ("models", "endpoint_configs", "endpoints", "training_jobs", "processing_jobs")


class Store:
    """Thread-safe record store; `with store.change():` mutates and persists."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._records = root / "records"
        self.lock = threading.RLock()
        self._data: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            directory = self._records / kind
            if directory.is_dir():
                for path in directory.glob("*.json"):
                    record = read_json(path)
                    if record is not None:
                        self._data[kind][unquote(path.stem)] = record
        legacy = root / "state.json"
        if legacy.is_file():  # one document of every record, from before
            loaded = read_json(legacy, {}) or {}
            for kind in KINDS:
                for name, record in (loaded.get(kind) or {}).items():
                    self._data[kind].setdefault(name, record)
                    self._save(kind, name)
            legacy.unlink()

    def get(self, kind: str, name: str) -> dict | None:
        with self.lock:
            record = self._data[kind].get(name)
            return copy.deepcopy(record) if record is not None else None

    def all(self, kind: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(r) for r in self._data[kind].values()]

    def put(self, kind: str, name: str, record: dict) -> None:
        with self.lock:
            self._data[kind][name] = copy.deepcopy(record)
            self._save(kind, name)

    def update(self, kind: str, name: str, **fields: Any) -> dict | None:
        """Set fields of a record (None removes a field); returns the new record."""
        with self.lock:
            record = self._data[kind].get(name)
            if record is None:
                return None
            for key, value in fields.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = copy.deepcopy(value)
            self._save(kind, name)
            return copy.deepcopy(record)

    def delete(self, kind: str, name: str) -> dict | None:
        with self.lock:
            record = self._data[kind].pop(name, None)
            self._save(kind, name)
            return record

    def _save(self, kind: str, name: str) -> None:
        # quoted: a file name of its own whatever the name holds ("/", "..")
        path = self._records / kind / f"{quote(name, safe='')}.json"
        record = self._data[kind].get(name)
        if record is not None:
            write_json_atomic(path, record)
        elif path.exists():
            path.unlink()
            fsync_dir(path.parent)
