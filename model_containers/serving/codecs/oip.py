"""Open Inference Protocol (KServe/Triton v2) REST codec.

Reads JSON tensors (flat or nested ``data``) and Triton's binary tensor extension
(``Inference-Header-Content-Length`` followed by raw little-endian tensors), which
standard clients such as ``tritonclient`` send by default. Responses are JSON tensors with
flattened row-major ``data``; clients that asked for binary outputs accept JSON too.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import orjson

from model_containers.errors import InvalidInput
from model_containers.manifest import TensorSpec
from model_containers.runtimes import Batch, Prediction
from model_containers.serving.schema import InputSchema

OIP_TO_NUMPY = {
    "BOOL": np.dtype(np.bool_), "UINT8": np.dtype(np.uint8), "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32), "UINT64": np.dtype(np.uint64), "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16), "INT32": np.dtype(np.int32), "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16), "FP32": np.dtype(np.float32), "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_DTYPE_TO_OIP = {v.name: k for k, v in OIP_TO_NUMPY.items() if k != "BYTES"}
_DTYPE_TO_OIP["string"] = "BYTES"


def spec_to_oip(spec: TensorSpec) -> dict:
    return {"name": spec.name, "datatype": _DTYPE_TO_OIP.get(spec.dtype, "BYTES"), "shape": spec.shape}


def array_datatype(arr: np.ndarray) -> str:
    return "BYTES" if arr.dtype.kind in "OUS" else _DTYPE_TO_OIP.get(arr.dtype.name, "FP64")


class OipRequest:
    """A decoded inference request: its id, the model batch and the outputs asked for."""

    __slots__ = ("batch", "id", "outputs")

    def __init__(self, request_id, batch: Batch, outputs: list[str] | None) -> None:
        self.id, self.batch, self.outputs = request_id, batch, outputs


def _bytes_tensor(raw: bytes, count: int) -> np.ndarray:
    items, offset = [], 0
    for _ in range(count):
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        items.append(raw[offset:offset + length])
        offset += length
    if offset != len(raw):
        raise ValueError
    return np.array(items, dtype=object)


def _tensor(spec: dict, binary: memoryview | None, offset: int, position: int) -> tuple[str, np.ndarray, int]:
    # Messages name an input by its position, never by the name the caller sent: an error
    # body must not echo what the request carried.
    if type(spec) is not dict:
        raise InvalidInput("each OIP input must be an object")
    name, datatype, shape = spec.get("name"), spec.get("datatype"), spec.get("shape")
    if type(name) is not str or datatype not in OIP_TO_NUMPY:
        raise InvalidInput("each OIP input needs a name and a valid datatype")
    where = f"OIP input {position}"
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidInput(f"{where} needs a shape of non-negative integers")
    dtype = OIP_TO_NUMPY[datatype]
    count = math.prod(shape)  # Python ints: a huge declared shape cannot wrap around
    size = (spec.get("parameters") or {}).get("binary_data_size")
    try:
        if size is not None:
            if binary is None or type(size) is not int or offset + size > len(binary):
                raise InvalidInput(f"{where} declares binary data the body does not hold")
            raw = bytes(binary[offset:offset + size])
            offset += size
            arr = _bytes_tensor(raw, count) if datatype == "BYTES" else np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
        else:
            data = spec.get("data")
            if data is None:
                raise InvalidInput(f"{where} has no data")
            arr = np.asarray(data, dtype=dtype if datatype != "BYTES" else object)
        if arr.size != count:
            raise InvalidInput(f"{where} holds a different number of elements than its shape")
        arr = arr.reshape(shape)
    except (ValueError, TypeError, struct.error):
        raise InvalidInput(f"{where} data do not match its datatype {datatype}") from None
    if datatype == "BYTES":
        arr = np.vectorize(lambda v: v.decode("utf-8") if isinstance(v, bytes) else v, otypes=[object])(arr)
    return name, arr, offset


def decode(obj, schema: InputSchema, binary: memoryview | None = None) -> OipRequest:
    """A parsed OIP request body (plus any binary tail) as an :class:`OipRequest`."""
    if type(obj) is not dict or type(obj.get("inputs")) is not list or not obj["inputs"]:
        raise InvalidInput("an OIP request needs a non-empty inputs list")
    tensors, offset = {}, 0
    for position, spec in enumerate(obj["inputs"], start=1):
        name, arr, offset = _tensor(spec, binary, offset, position)
        if name in tensors:
            raise InvalidInput(f"OIP input {position} has the name of an earlier input")
        tensors[name] = arr
    outputs = obj.get("outputs")
    wanted = None
    if outputs is not None:
        if type(outputs) is not list or not all(type(o) is dict and type(o.get("name")) is str for o in outputs):
            raise InvalidInput("OIP outputs must be a list of objects with a name")
        wanted = [o["name"] for o in outputs]
    request_id = obj.get("id")
    if request_id is not None and type(request_id) is not str:
        raise InvalidInput("the OIP request id must be a string")
    return OipRequest(request_id, schema.named(tensors), wanted)


def method_for(request: OipRequest, label_names: list[str], proba_names: list[str]) -> str:
    """What to ask the model for: labels, probabilities or both (data plane methods)."""
    if not proba_names:
        return "predict"
    if request.outputs is None:
        return "both"
    wanted = set(request.outputs)
    if not wanted & set(proba_names):
        return "predict"
    return "predict_proba" if wanted <= set(proba_names) else "both"


def encode(pred: Prediction, request: OipRequest, model: str, version: str,
           output_names: list[str], proba_names: list[str] | None = None, method: str = "predict") -> bytes:
    """An OIP inference response with every (or every requested) output.

    A classifier's probabilities are one output per class (``proba_<class>``, FP64).
    """
    label = output_names[0] if output_names else "predictions"
    if method == "both":
        items = [(label, pred["label"])]
        items += [(n, pred["proba"][:, i]) for i, n in enumerate(proba_names or ())]
    elif method == "predict_proba":
        items = [(n, pred[:, i]) for i, n in enumerate(proba_names or ())]
    elif isinstance(pred, dict):
        items = list(pred.items())
    else:
        items = [(label, pred)]
    if request.outputs is not None:
        available = dict(items)
        missing = [n for n in request.outputs if n not in available]
        if missing:
            have = [label, *proba_names] if proba_names else list(available)
            raise InvalidInput(f"unknown outputs requested; this model has {', '.join(have)}")
        items = [(n, available[n]) for n in request.outputs]
    outputs = []
    for name, arr in items:
        arr = np.asarray(arr)
        datatype = array_datatype(arr)
        flat = arr.reshape(-1)
        data = [x.decode() if isinstance(x, bytes) else str(x) for x in flat.tolist()] if datatype == "BYTES" else np.ascontiguousarray(flat)
        outputs.append({"name": name, "datatype": datatype, "shape": list(arr.shape), "data": data})
    body = {"model_name": model, "model_version": version, "outputs": outputs}
    if request.id is not None:
        body["id"] = request.id
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=lambda o: o.tolist())
