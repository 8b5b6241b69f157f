"""The local SageMaker's records (models, endpoint configs, endpoints, training and processing jobs).

Records are kept in the shape of the matching `Describe*` output (timestamps as epoch
seconds), so answering a `Describe*` is shaping a copy. Every change is written to
`<state_dir>/sagemaker/state.json` atomically.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from modelport.local.statefiles import read_json, write_json_atomic

KINDS = ("models", "endpoint_configs", "endpoints", "training_jobs", "processing_jobs")


class Store:
    """Thread-safe record store; `with store.change():` mutates and persists."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._path = root / "state.json"
        self.lock = threading.RLock()
        loaded = read_json(self._path, {}) or {}
        self._data: dict[str, dict[str, dict]] = {kind: loaded.get(kind, {}) for kind in KINDS}

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
            self._save()

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
            self._save()
            return copy.deepcopy(record)

    def delete(self, kind: str, name: str) -> dict | None:
        with self.lock:
            record = self._data[kind].pop(name, None)
            self._save()
            return record

    def _save(self) -> None:
        write_json_atomic(self._path, self._data)
