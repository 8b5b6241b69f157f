"""SageMaker and MLflow payloads on ``/invocations``: JSON, CSV and NumPy ``.npy``.

JSON bodies may be any of MLflow's scoring formats (``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs``), which include SageMaker's TF-serving style
``{"instances": [...]}`` and ``{"inputs": ...}``; a bare list of rows (or records) is
accepted too, as SageMaker's framework containers do. Responses are
``{"predictions": ...}`` in JSON (MLflow's shape), one line per row in CSV, or ``.npy``.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import orjson

from model_containers.errors import InvalidInput, NotAcceptable
from model_containers.runtimes import Batch, Prediction
from model_containers.serving.schema import InputSchema

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"
_NUMPY_OPTS = orjson.OPT_SERIALIZE_NUMPY
_JSON_KEYS = "dataframe_split, dataframe_records, instances or inputs"


def _default(obj):
    # Reached for arrays orjson cannot serialise natively (object dtype, non-contiguous).
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    raise TypeError


def parse_json(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not valid JSON") from None


def is_oip_body(obj) -> bool:
    """An OIP v2 inference request: ``inputs`` is a list of named, typed tensors."""
    if type(obj) is not dict:
        return False
    inputs = obj.get("inputs")
    return (type(inputs) is list and len(inputs) > 0 and type(inputs[0]) is dict
            and "datatype" in inputs[0] and "shape" in inputs[0])


def inference_method(obj) -> str:
    """MLflow's inference ``params``: ``{"predict_method": "predict" | "predict_proba"}``."""
    params = obj.get("params") if type(obj) is dict else None
    if not params:
        return "predict"
    if type(params) is not dict or set(params) - {"predict_method"}:
        raise InvalidInput("the only inference param is predict_method (predict or predict_proba)")
    method = params.get("predict_method", "predict")
    if method not in ("predict", "predict_proba"):
        raise InvalidInput("params.predict_method must be predict or predict_proba")
    return method


def decode_json(obj, schema: InputSchema) -> Batch:
    """A parsed MLflow/SageMaker JSON body as the model's batch (``params``: :func:`inference_method`)."""
    if type(obj) is dict:
        keys = [k for k in obj if k != "params"]
        if len(keys) != 1:
            raise InvalidInput(f"a JSON body must hold exactly one of {_JSON_KEYS}")
        key = keys[0]
        value = obj[key]
        if key == "instances":
            return schema.rows(value)
        if key == "inputs":
            return schema.named(value) if type(value) is dict else schema.rows(value)
        if key == "dataframe_split":
            if type(value) is not dict:
                raise InvalidInput("dataframe_split must be an object with columns and data")
            return schema.split(value.get("columns"), value.get("data"))
        if key == "dataframe_records":
            if type(value) is not list:
                raise InvalidInput("dataframe_records must be a list of objects")
            return schema.records(value)
        raise InvalidInput(f"unknown JSON format; expected {_JSON_KEYS}")
    if type(obj) is list:
        return schema.rows(obj)
    raise InvalidInput(f"a JSON body must be an object with {_JSON_KEYS}, or a list of rows")


def decode_csv(body: bytes, schema: InputSchema) -> Batch:
    """Comma-separated rows without a header (SageMaker's convention), or with the signature's names."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("CSV must be UTF-8") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows:
        raise InvalidInput("the CSV body has no rows")
    columns = None
    if schema.names and len(rows[0]) == schema.width and set(rows[0]) == set(schema.names):
        columns, rows = rows[0], rows[1:]
    if not schema.is_str:
        try:
            arr = np.array([[c if c.strip() else "nan" for c in r] for r in rows], dtype=np.float64)
        except ValueError:
            raise InvalidInput("CSV values must be numbers in rows of equal length") from None
        if schema.is_int and schema.kind != "table":  # a table's columns check themselves (NaN: missing)
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise InvalidInput("this model expects integers")
            arr = arr.astype(schema.dtype)
        rows = arr
    if columns is not None:
        return schema.split(columns, rows if isinstance(rows, list) else rows.tolist())
    return schema.rows(rows)


def _check_npy_size(body: bytes) -> None:
    """The header's shape × item size must be exactly the data the body carries, checked
    before numpy allocates anything: a header may claim any shape (`(10**11,)`), and
    allocating it is a MemoryError (a 500) for what is the client's error."""
    stream = io.BytesIO(body)
    try:
        major, _ = np.lib.format.read_magic(stream)
        reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(stream)
    except (ValueError, OSError, EOFError):
        raise InvalidInput("the body is not a NumPy .npy array (object arrays are refused)") from None
    if dtype.hasobject:
        raise InvalidInput("the body is not a NumPy .npy array (object arrays are refused)")
    declared = math.prod(int(n) for n in shape) * dtype.itemsize  # Python ints: no overflow
    carried = len(body) - stream.tell()
    if declared != carried:
        raise InvalidInput(
            f"the .npy header declares shape {tuple(int(n) for n in shape)} of {dtype.str} ({declared} bytes) "
            f"but the body carries {carried} bytes"
        )


def decode_npy(body: bytes, schema: InputSchema) -> Batch:
    _check_npy_size(body)
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise InvalidInput("the body is not a NumPy .npy array (object arrays are refused)") from None
    if not isinstance(arr, np.ndarray):
        raise InvalidInput("send one array in .npy format, not .npz")
    return schema.array(arr)


def encode(pred: Prediction, accept: str) -> bytes:
    """The response body for ``accept`` (one of JSON, CSV, NPY)."""
    if accept is JSON:
        return orjson.dumps({"predictions": pred}, option=_NUMPY_OPTS, default=_default)
    if isinstance(pred, dict):
        raise NotAcceptable("this model has several outputs; ask for application/json")
    if accept is CSV:
        arr = np.asarray(pred)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(arr.reshape(len(arr), -1).tolist() if arr.ndim else [[arr.item()]])
        return out.getvalue().encode()
    buf = io.BytesIO()
    try:
        np.save(buf, np.asarray(pred), allow_pickle=False)
    except ValueError:  # object arrays (strings) would need pickle
        raise NotAcceptable("these predictions cannot be written as .npy; ask for JSON or CSV") from None
    return buf.getvalue()
