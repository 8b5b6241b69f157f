"""SageMaker data-capture files → the window's feature and output columns.

Each capture line holds one request and its answer (see docs/contracts.md, "Data
capture"). Requests may be any payload the serving container accepts: SageMaker/MLflow
JSON (`instances`, `inputs`, `dataframe_split`, `dataframe_records`, a bare list), CSV,
Open Inference Protocol v2, or `.npy`; answers `{"predictions": ...}`, CSV lines, OIP
`outputs` or `.npy`. Rows map onto the baseline's features by name where the payload
names them, else by position (the signature's order, which is the training table's).

Files are read one at a time and turned into numpy chunks, so memory grows with the
number of values, not with Python objects per line. A line that cannot be read is counted
(`unreadable`) and skipped, never fatal: one odd client must not blind the monitor.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from model_containers.monitoring.baseline import category_key
from model_containers.monitoring.drift import to_numbers


class Unreadable(ValueError):
    """A payload the monitor cannot map onto the baseline's columns."""


@dataclass
class Window:
    """The captured rows of a window: one array per feature and per output."""

    features: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    #: per row: the request's inference id (or its eventId), row index in the request, hour.
    inference_ids: np.ndarray
    row_index: np.ndarray
    times: np.ndarray
    records: int = 0
    unreadable: int = 0
    outside: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.inference_ids)


class WindowReader:
    """Accumulates capture files; `window()` returns the columns read so far."""

    def __init__(self, baseline: dict[str, Any], *, start: datetime | None = None, end: datetime | None = None) -> None:
        self._kinds = {name: p["kind"] for name, p in baseline["features"].items()}
        self._names = list(self._kinds)
        self._output_kinds = {name: p["kind"] for name, p in (baseline.get("outputs") or {}).items()}
        self._start = start.strftime("%Y-%m-%dT%H:%M:%SZ") if start else None
        # inferenceTime has whole seconds: a request in the window's last, partial second is in it
        if end is not None and end.microsecond:
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        self._end = end.strftime("%Y-%m-%dT%H:%M:%SZ") if end else None
        self._chunks: dict[str, list[np.ndarray]] = {n: [] for n in (*self._names, *self._output_kinds)}
        self._meta: dict[str, list[np.ndarray]] = {"id": [], "row": [], "time": []}
        self.records = self.unreadable = self.outside = 0
        self.errors: list[str] = []
        self._strings: dict[str | None, str | None] = {}

    def read_files(self, paths: Iterable[Path]) -> WindowReader:
        for path in paths:
            self.read_lines(path.read_bytes().splitlines())
        return self

    def read_lines(self, lines: Sequence[bytes]) -> None:
        columns: dict[str, list] = {n: [] for n in self._chunks}
        ids: list[str] = []
        rows: list[int] = []
        times: list[str] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                added = self._line(line, columns)
            except (Unreadable, ValueError, KeyError, TypeError, IndexError) as exc:
                self.unreadable += 1
                if len(self.errors) < 10:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if added is None:
                continue
            inference_id, when, n = added
            when = self._strings.setdefault(when, when)  # one object per second, not per row
            self.records += 1
            ids.extend([inference_id] * n)
            rows.extend(range(n))
            times.extend([when] * n)
        self._flush(columns, ids, rows, times)

    def _line(self, line: bytes, columns: dict[str, list]) -> tuple[str, str, int] | None:
        record = orjson.loads(line)
        meta = record["eventMetadata"]
        when = meta["inferenceTime"]
        if (self._start and when < self._start) or (self._end and when >= self._end):
            self.outside += 1
            return None
        data = record["captureData"]
        request = data.get("endpointInput")
        if request is None:
            raise Unreadable("the capture holds no request (CaptureOptions without Input)")
        features = self._features(decode(request))
        n = len(next(iter(features.values())))
        outputs = self._outputs(decode(data["endpointOutput"]), n) if data.get("endpointOutput") and self._output_kinds else {}
        for name in self._names:
            columns[name].extend(features[name])
        for name in self._output_kinds:
            columns[name].extend(outputs.get(name) or [None] * n)
        return meta.get("inferenceId") or meta["eventId"], when, n

    # -- requests -------------------------------------------------------------------------
    def _features(self, payload: Any) -> dict[str, list]:
        if isinstance(payload, np.ndarray):
            return self._rows(payload.reshape(len(payload), -1).tolist())
        if isinstance(payload, dict):
            if "instances" in payload:
                return self._rows_or_records(payload["instances"])
            if "dataframe_split" in payload:
                split = payload["dataframe_split"]
                return self._records([dict(zip(split["columns"], row, strict=True)) for row in split["data"]])
            if "dataframe_records" in payload:
                return self._records(payload["dataframe_records"])
            if "inputs" in payload:
                inputs = payload["inputs"]
                if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict) and "datatype" in inputs[0]:
                    return self._oip(inputs)
                if isinstance(inputs, dict):
                    return self._columns(inputs)
                return self._rows_or_records(inputs)
            raise Unreadable(f"unknown JSON request keys {sorted(payload)[:5]}")
        if isinstance(payload, list):
            return self._rows_or_records(payload)
        raise Unreadable("the request is neither rows, records nor columns")

    def _rows_or_records(self, items: list) -> dict[str, list]:
        if not isinstance(items, list) or not items:
            raise Unreadable("no rows in the request")
        if isinstance(items[0], dict):
            return self._records(items)
        if not isinstance(items[0], list):
            items = [[v] for v in items]  # one feature per row
        return self._rows(items)

    def _rows(self, rows: list[list]) -> dict[str, list]:
        first = rows[0] if rows else None
        if first and first[0] == self._names[0] and [str(v) for v in first] == self._names:  # a CSV header
            rows = rows[1:]
        if not rows:
            raise Unreadable("no rows in the request")
        width = len(self._names)
        if any(len(r) != width for r in rows):
            raise Unreadable(f"rows must have {width} values (the baseline's features)")
        return {name: [r[i] for r in rows] for i, name in enumerate(self._names)}

    def _records(self, records: list[dict]) -> dict[str, list]:
        if not records:
            raise Unreadable("no rows in the request")
        return {name: [r.get(name) for r in records] for name in self._names}

    def _columns(self, columns: dict[str, Any]) -> dict[str, list]:
        lengths = {len(v) for v in columns.values() if isinstance(v, list)}
        if len(lengths) != 1:
            raise Unreadable("named inputs must be lists of one length")
        n = lengths.pop()
        return {name: list(columns[name]) if name in columns else [None] * n for name in self._names}

    def _oip(self, tensors: list[dict]) -> dict[str, list]:
        if len(tensors) == 1:
            t = tensors[0]
            shape = [int(d) for d in t["shape"]]
            flat = t["data"]
            rows = shape[0] if shape else 1
            return self._rows(np.asarray(flat, dtype=object).reshape(rows, -1).tolist())
        return self._columns({t["name"]: list(np.asarray(t["data"], dtype=object).reshape(-1)) for t in tensors})

    # -- answers --------------------------------------------------------------------------
    def _outputs(self, payload: Any, n: int) -> dict[str, list]:
        if isinstance(payload, dict) and "outputs" in payload:  # OIP v2
            t = payload["outputs"][0]
            payload = np.asarray(t["data"], dtype=object).reshape([int(d) for d in t["shape"]]).tolist()
        elif isinstance(payload, dict):
            payload = payload.get("predictions", payload)
        if isinstance(payload, dict):
            return {name: list(payload[name]) for name in self._output_kinds if name in payload}
        values = payload.tolist() if isinstance(payload, np.ndarray) else payload
        if not isinstance(values, list) or len(values) != n:
            raise Unreadable(f"the answer has no prediction per row ({n} rows)")
        if "prediction" in self._output_kinds:
            return {"prediction": [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]}
        return {name: [v[j] if isinstance(v, list) and j < len(v) else None for v in values]
                for j, name in enumerate(self._output_kinds)}

    # -- chunks ---------------------------------------------------------------------------
    def _flush(self, columns: dict[str, list], ids: list[str], rows: list[int], times: list[str]) -> None:
        if not ids:
            return
        for name, values in columns.items():
            kind = self._kinds.get(name) or self._output_kinds.get(name)
            if kind == "numeric":
                self._chunks[name].append(to_numbers(values))
            else:  # one object per category, not per row
                keys = [category_key(v) for v in values]
                self._chunks[name].append(np.asarray([self._strings.setdefault(k, k) for k in keys], dtype=object))
        self._meta["id"].append(np.asarray(ids, dtype=object))
        self._meta["row"].append(np.asarray(rows, dtype=np.int32))
        self._meta["time"].append(np.asarray(times, dtype=object))

    def window(self) -> Window:
        def joined(chunks: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(chunks) if chunks else np.asarray([], dtype=dtype)

        return Window(
            features={n: joined(self._chunks[n], object) for n in self._names},
            outputs={n: joined(self._chunks[n], object) for n in self._output_kinds},
            inference_ids=joined(self._meta["id"], object), row_index=joined(self._meta["row"], np.int32),
            times=joined(self._meta["time"], object), records=self.records, unreadable=self.unreadable,
            outside=self.outside, errors=list(self.errors),
        )  # fmt: skip


def decode(part: dict[str, str]) -> Any:
    """A captured body (`endpointInput` or `endpointOutput`) as parsed data."""
    encoding = part.get("encoding")
    media = part.get("observedContentType", "").split(";", 1)[0].strip().lower()
    raw: bytes | str = part["data"]
    if encoding == "BASE64":
        raw = base64.b64decode(raw)
    elif encoding not in ("JSON", "CSV"):
        raise Unreadable(f"unknown capture encoding {encoding!r}")
    if encoding == "CSV" or media == "text/csv":
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
        return [r if len(r) != 1 else r[0] for r in rows]  # one value per line: a column
    if media == "application/x-npy":
        return np.load(io.BytesIO(raw if isinstance(raw, bytes) else raw.encode()), allow_pickle=False)
    return orjson.loads(raw)
