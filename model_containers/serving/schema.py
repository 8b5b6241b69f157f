"""The model's input signature, compiled once into cheap checks and conversions.

Codecs decode a request into plain Python or numpy values and hand them to
:class:`InputSchema`, which returns the batch the runtime takes (a 2-D array, or
``{name: array}`` for several tensor inputs) or raises :class:`InvalidInput`. Messages name
inputs from the *signature* and counts, never values or names taken from the payload.

Three shapes of signature are recognised:

* ``columns``: every input is one value per row (shape ``[-1]``), like a table's columns;
  the batch is an ``(n, k)`` array in signature order.
* ``tensor``: a single input with a shape of two or more dimensions, e.g. ``[-1, 20]``.
* ``multi``: several inputs, some of them tensors; the batch is ``{name: array}``.

An empty signature (``any``) accepts any numeric rows as they are.

A model that takes a table (a scikit-learn pipeline fitted on a DataFrame) compiles its
``columns`` signature as ``table``: the batch is ``{name: column}``, each column typed by
its own dtype (:mod:`model_containers.columns`), so one row may mix text, numbers,
booleans, dates and missing values, in JSON, CSV or OIP ``BYTES`` alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model_containers.columns import Column
from model_containers.errors import InvalidInput
from model_containers.manifest import Signature, TensorSpec
from model_containers.runtimes import Batch

NUMPY_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(name) for name in (
        "float16", "float32", "float64", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64", "bool")
}
NUMPY_DTYPES["string"] = np.dtype(object)
NUMPY_DTYPES["datetime"] = np.dtype(object)  # ISO-8601 text; typed by table models only


class _Spec:
    """One compiled input: numpy dtype and the shape after the row axis."""

    __slots__ = ("dtype", "is_int", "is_str", "name", "tail")

    def __init__(self, spec: TensorSpec) -> None:
        self.name = spec.name
        self.dtype = NUMPY_DTYPES[spec.dtype]
        self.tail = tuple(spec.shape[1:])
        self.is_int = self.dtype.kind in "iub"
        self.is_str = self.dtype.kind == "O"

    def convert(self, values: Any) -> np.ndarray:
        """Values for this input (rows first) as an array of its dtype, or InvalidInput."""
        arr = _as_array(values, self.dtype, self.is_int, self.is_str, self.name)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        elif not self.tail and arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr.reshape(-1)  # a column sent as [n, 1]
        if arr.ndim != 1 + len(self.tail) or any(
                want != -1 and got != want for want, got in zip(self.tail, arr.shape[1:])):
            want = "x".join("n" if d == -1 else str(d) for d in (-1, *self.tail))
            raise InvalidInput(f"input '{self.name}' must have shape [{want}]")
        return arr


def _as_array(values: Any, dtype: np.dtype, is_int: bool, is_str: bool, what: str) -> np.ndarray:
    try:
        if is_str:
            return np.asarray(values, dtype=object)
        if is_int:
            # Converting straight to an int dtype would truncate 1.5 to 1 without a word.
            arr = values if isinstance(values, np.ndarray) else np.asarray(values)
            if arr.dtype.kind not in "iub" and arr.size:
                raise InvalidInput(f"input '{what}' expects integers ({dtype.name})")
            return arr.astype(dtype, copy=False)
        if isinstance(values, np.ndarray):
            if values.dtype.kind not in "iufb":
                raise InvalidInput(f"input '{what}' expects numbers ({dtype.name})")
            return values.astype(dtype, copy=False)
        return np.asarray(values, dtype=dtype)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"input '{what}' expects {dtype.name if not is_str else 'strings'} in a regular "
            "(non-ragged) array") from None


class InputSchema:
    """A compiled signature; see the module docstring."""

    def __init__(self, signature: Signature, *, table: bool = False) -> None:
        self.specs = [_Spec(s) for s in signature.inputs]
        self.names = tuple(s.name for s in self.specs)
        self.width = len(self.specs)
        if not self.specs:
            self.kind = "any"
        elif all(len(s.tail) == 0 for s in self.specs):
            self.kind = "columns"
        elif len(self.specs) == 1:
            self.kind = "tensor"
        else:
            self.kind = "multi"
        if self.kind == "columns":
            dtypes = [s.dtype for s in self.specs]
            self.is_str = any(d.kind == "O" for d in dtypes)
            self.dtype = np.dtype(object) if self.is_str else np.result_type(*dtypes)
            self.is_int = self.dtype.kind in "iub"
        elif self.kind == "tensor":
            self.dtype, self.is_int, self.is_str = self.specs[0].dtype, self.specs[0].is_int, self.specs[0].is_str
        else:
            self.dtype, self.is_int, self.is_str = np.dtype(np.float64), False, False
        self._index = {name: i for i, name in enumerate(self.names)}
        self.columns: list[Column] = []
        if table and self.kind == "columns":
            self.kind = "table"
            self.columns = [Column(s.name, s.dtype) for s in signature.inputs]

    # -- positional rows: SageMaker ``instances`` lists, CSV, npy, one OIP tensor -----
    def rows(self, rows: Any) -> Batch:
        """A list of rows (each a list of values, or a dict of named values)."""
        if not isinstance(rows, (list, np.ndarray)):
            raise InvalidInput("instances must be a list of rows")
        if len(rows) and isinstance(rows[0], dict):
            return self.records(rows)
        if self.kind == "multi":
            raise InvalidInput(f"this model has several inputs ({', '.join(self.names)}); send named inputs")
        if self.kind == "table":
            return self._table_rows(rows)
        if self.kind == "tensor":
            return self.specs[0].convert(rows)
        arr = _as_array(rows, self.dtype, self.is_int, self.is_str, "instances")
        if self.kind == "any":
            return arr if arr.ndim > 1 else arr.reshape(-1, 1)
        if arr.ndim == 1 and self.width == 1:
            return arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != self.width:
            raise InvalidInput(f"each row must have {self.width} values ({', '.join(self.names)})")
        return arr

    # -- named rows: dataframe_records, instances of objects -------------------------
    def records(self, records: list) -> Batch:
        if self.kind == "any":
            raise InvalidInput("this model has no input signature; send rows as lists")
        try:
            if any(type(r) is not dict or len(r) != self.width for r in records):
                raise KeyError
            if self.kind == "table":
                return self._typed({n: [r[n] for r in records] for n in self.names})
            if self.kind == "columns":
                table = [[r[n] for n in self.names] for r in records]
                return self.rows(table) if table else np.empty((0, self.width), self.dtype)
            return self.named({n: [r[n] for r in records] for n in self.names})
        except KeyError:
            raise InvalidInput(f"each record must have exactly the inputs {', '.join(self.names)}") from None

    # -- dataframe_split --------------------------------------------------------------
    def split(self, columns: Any, data: Any) -> Batch:
        if not isinstance(columns, list) or not isinstance(data, list):
            raise InvalidInput("dataframe_split needs 'columns' and 'data' lists")
        if self.kind == "any":
            return self.rows(data)
        if len(columns) != self.width or set(columns) != set(self.names):
            raise InvalidInput(f"dataframe_split columns must be exactly {', '.join(self.names)}")
        if self.kind == "table":
            try:
                cells = {c: [row[i] for row in data] for i, c in enumerate(columns)}
            except (IndexError, KeyError, TypeError):
                raise InvalidInput(f"each dataframe_split row must have {self.width} values") from None
            if any(len(row) != self.width for row in data):
                raise InvalidInput(f"each dataframe_split row must have {self.width} values")
            return self._typed(cells)
        if self.kind != "columns":
            return self.named({c: [row[i] for row in data] for i, c in enumerate(columns)})
        arr = self.rows(data)
        if list(columns) != list(self.names):
            arr = arr[:, [columns.index(n) for n in self.names]]
        return arr

    # -- columnar: MLflow/TF ``inputs`` dict, OIP named tensors ------------------------
    def named(self, tensors: dict) -> Batch:
        """``{input name: values}`` (lists or arrays), rows first."""
        if self.kind == "any":
            if len(tensors) != 1:
                raise InvalidInput("this model has no input signature; send one tensor")
            (values,) = tensors.values()
            return self.rows(values)
        missing = [n for n in self.names if n not in tensors]
        if self.kind == "table":
            if missing or len(tensors) != self.width:
                return self._table_tensors(list(tensors.values()), missing)
            return self._typed(tensors)
        if missing or len(tensors) != self.width:
            if self.kind in ("columns", "tensor") and len(tensors) == 1 and self.width > 1:
                # One unnamed-by-signature 2-D tensor holding every column, positionally.
                (values,) = tensors.values()
                return self.rows(values)
            raise InvalidInput(f"inputs must be exactly {', '.join(self.names)}"
                               + (f" (missing {', '.join(missing)})" if missing else ""))
        arrays = {s.name: s.convert(tensors[s.name]) for s in self.specs}
        rows = {a.shape[0] for a in arrays.values()}
        if len(rows) > 1:
            raise InvalidInput("every input must have the same number of rows")
        if self.kind == "columns":
            cols = [arrays[n].reshape(-1) if arrays[n].ndim == 1 else arrays[n] for n in self.names]
            return np.column_stack(cols).astype(self.dtype, copy=False)
        if self.kind == "tensor":
            return arrays[self.names[0]]
        return arrays

    def array(self, arr: np.ndarray) -> Batch:
        """A decoded array (npy, CSV): rows first, positional columns."""
        return self.rows(arr)

    # -- table models: one typed column per input ---------------------------------------
    def _typed(self, cells: dict) -> dict[str, np.ndarray]:
        out = {c.name: c.convert(cells[c.name]) for c in self.columns}
        if len({len(a) for a in out.values()}) > 1:
            raise InvalidInput("every input must have the same number of rows")
        return out

    def _table_rows(self, rows: Any) -> dict[str, np.ndarray]:
        if isinstance(rows, np.ndarray):
            if rows.ndim == 1 and self.width == 1:
                rows = rows.reshape(-1, 1)
            if rows.ndim != 2 or rows.shape[1] != self.width:
                raise InvalidInput(f"each row must have {self.width} values ({', '.join(self.names)})")
            return self._typed({n: rows[:, j] for j, n in enumerate(self.names)})
        if len(rows) and not isinstance(rows[0], (list, tuple)) and self.width == 1:
            rows = [[v] for v in rows]
        if any(not isinstance(r, (list, tuple)) or len(r) != self.width for r in rows):
            raise InvalidInput(f"each row must have {self.width} values ({', '.join(self.names)})")
        if not rows:
            return self._typed({n: [] for n in self.names})
        return self._typed(dict(zip(self.names, (list(col) for col in zip(*rows)))))

    def _table_tensors(self, tensors: list, missing: list[str]) -> dict[str, np.ndarray]:
        """Tensors not named by column: one 2-D tensor of rows, or one tensor per row."""
        arrays = [np.asarray(t, dtype=object) if not isinstance(t, np.ndarray) else t for t in tensors]
        if len(arrays) == 1 and arrays[0].ndim == 2:
            return self._table_rows(arrays[0])
        if all(a.shape in ((self.width,), (1, self.width)) for a in arrays):
            return self._table_rows(np.stack([a.reshape(-1) for a in arrays]))
        raise InvalidInput(f"inputs must be exactly {', '.join(self.names)}"
                           + (f" (missing {', '.join(missing)})" if missing else "")
                           + ", or one tensor of rows, or one tensor per row")
