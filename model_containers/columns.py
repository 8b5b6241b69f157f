"""Typed table columns: one set of rules for the training frame and for every request.

A model trained on a table (a scikit-learn ``Pipeline`` fitted on a DataFrame, such as
the reference trainer's) takes one typed column per input. Requests carry rows in many
shapes: JSON values (numbers, strings, ``null``), CSV fields (all strings), OIP ``BYTES``
tensors (all strings). :class:`Column` turns one input's values, in any of these forms,
into the array the model takes; the reference trainer converts its training table with
the same :class:`Column`, so what is served is exactly what was trained:

* numbers (``int*``, ``uint*``, ``float*``): ``float64``, missing as NaN; numeric strings
  are parsed; integer columns refuse fractions; infinities are refused;
* ``bool``: ``float64`` 1/0 (``true``/``false``, ``1``/``0``, ``yes``/``no``), missing as NaN;
* ``string``: an object array of ``str``, missing as NaN (the marker scikit-learn's
  encoders know); numbers sent for a string column are taken as their text;
* ``datetime``: ISO-8601 text as ``datetime64[ns]`` (UTC, no zone), missing as NaT.

Missing values are ``null``/``None``, NaN, an empty field, or ``NA``/``NaN``/``null`` as text.
Messages name the input (from the signature) and never repeat a value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from model_containers.errors import InvalidInput

#: text that means "no value" (pandas' read_csv defaults, trimmed to the unambiguous ones)
MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", "<na>", "nat", "-nan"})
_TRUE = frozenset({"true", "1", "yes", "t", "y", "1.0"})
_FALSE = frozenset({"false", "0", "no", "f", "n", "0.0"})
NUMERIC = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64",
                     "uint8", "uint16", "uint32", "uint64"})


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TEXT
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    return False


class Column:
    """One table input compiled from its signature entry (name, dtype)."""

    __slots__ = ("convert", "dtype", "name")

    def __init__(self, name: str, dtype: str) -> None:
        self.name, self.dtype = name, dtype
        if dtype in NUMERIC:
            integral = dtype.startswith(("int", "uint"))
            self.convert = lambda values: _numbers(values, name, integral)
        elif dtype == "bool":
            self.convert = lambda values: _booleans(values, name)
        elif dtype == "datetime":
            self.convert = lambda values: _datetimes(values, name)
        else:
            self.convert = lambda values: _strings(values, name)


def _flat(values: Any, name: str) -> np.ndarray:
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise InvalidInput(f"input '{name}' must be one value per row")
    return arr


def _numbers(values: Any, name: str, integral: bool) -> np.ndarray:
    arr = _flat(values, name)
    if arr.dtype.kind in "iu":
        return arr.astype(np.float64)
    if arr.dtype.kind == "f":
        out = arr.astype(np.float64, copy=False)
    else:
        try:  # the common case: numbers and None (None becomes NaN)
            out = np.asarray(arr, dtype=np.float64) if not any(type(v) is str or type(v) is bool
                                                               for v in arr) else None
        except (TypeError, ValueError):
            out = None
        if out is None:
            out = np.array([_number(v, name) for v in arr], dtype=np.float64)
    if np.isinf(out).any():
        raise InvalidInput(f"input '{name}' must be a finite number")
    if integral:
        finite = out[~np.isnan(out)]
        if finite.size and not np.all(finite == np.round(finite)):
            raise InvalidInput(f"input '{name}' expects integers")
    return out


def _number(value: Any, name: str) -> float:
    if value is None:
        return math.nan
    if type(value) is bool or isinstance(value, np.bool_):
        raise InvalidInput(f"input '{name}' expects numbers, not true/false")
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_TEXT:
            return math.nan
        try:
            return float(text)
        except ValueError:
            raise InvalidInput(f"input '{name}' expects numbers") from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"input '{name}' expects numbers") from None


def _booleans(values: Any, name: str) -> np.ndarray:
    arr = _flat(values, name)
    if arr.dtype.kind == "b":
        return arr.astype(np.float64)
    out = np.empty(len(arr), dtype=np.float64)
    for i, value in enumerate(arr):
        if is_missing(value):
            out[i] = math.nan
        elif type(value) is bool or isinstance(value, np.bool_) or isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
            out[i] = float(value)
        elif isinstance(value, str) and value.strip().lower() in _TRUE:
            out[i] = 1.0
        elif isinstance(value, str) and value.strip().lower() in _FALSE:
            out[i] = 0.0
        else:
            raise InvalidInput(f"input '{name}' expects true or false")
    return out


def _strings(values: Any, name: str) -> np.ndarray:
    arr = _flat(values, name)
    out = np.empty(len(arr), dtype=object)
    for i, value in enumerate(arr):
        if type(value) is str:
            out[i] = value if value.strip().lower() not in MISSING_TEXT else math.nan
        elif is_missing(value):
            out[i] = math.nan
        elif isinstance(value, (bytes, bytearray)):
            out[i] = value.decode("utf-8", "replace")
        elif isinstance(value, (bool, np.bool_)):
            out[i] = "True" if value else "False"  # what pandas reads a True cell as
        elif isinstance(value, (int, np.integer)):
            out[i] = str(int(value))
        elif isinstance(value, (float, np.floating)):
            out[i] = str(int(value)) if float(value).is_integer() else str(float(value))
        else:
            raise InvalidInput(f"input '{name}' expects text")
    return out


def _datetimes(values: Any, name: str) -> np.ndarray:
    import pandas as pd

    arr = _flat(values, name)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]")
    texts = [None if is_missing(v) else v for v in arr]
    if any(v is not None and not isinstance(v, str) for v in texts):
        raise InvalidInput(f"input '{name}' expects ISO-8601 dates (text)")
    try:
        parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(f"input '{name}' expects ISO-8601 dates (YYYY-MM-DD[THH:MM:SS])") from None
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
