"""Codec corners, in-process: string tensors, binary OIP data, outputs that cannot be encoded."""

from __future__ import annotations

import struct

import numpy as np
import orjson
import pytest

from model_containers.errors import InvalidInput, NotAcceptable
from model_containers.manifest import Signature
from model_containers.serving.codecs import oip, sagemaker
from model_containers.serving.schema import InputSchema

TEXT = InputSchema(Signature.model_validate({"inputs": [{"name": "text", "dtype": "string", "shape": [-1]}]}))


def test_oip_binary_bytes_tensor():
    words = [b"hello", "wörld".encode()]
    raw = b"".join(struct.pack("<I", len(w)) + w for w in words)
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": len(raw)}}]}
    request = oip.decode(body, TEXT, memoryview(raw))
    assert request.batch.reshape(-1).tolist() == ["hello", "wörld"]


def test_oip_binary_fp32_little_endian():
    schema = InputSchema(Signature.model_validate({"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 2]}]}))
    data = np.array([[1.5, -2.0]], dtype="<f4")
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}}]}
    np.testing.assert_array_equal(oip.decode(body, schema, memoryview(data.tobytes())).batch, data)
    with pytest.raises(InvalidInput, match="binary data the body does not hold"):
        oip.decode(body, schema, memoryview(data.tobytes()[:4]))


def test_oip_string_output_and_id_echo():
    request = oip.OipRequest("abc", None, None)
    out = orjson.loads(oip.encode(np.array(["yes", "no"], dtype=object), request, "m", "2", ["answer"]))
    assert out == {"model_name": "m", "model_version": "2", "id": "abc",
                   "outputs": [{"name": "answer", "datatype": "BYTES", "shape": [2], "data": ["yes", "no"]}]}


def test_unencodable_outputs_are_406():
    with pytest.raises(NotAcceptable):
        sagemaker.encode(np.array(["a"], dtype=object), sagemaker.NPY)
    with pytest.raises(NotAcceptable):
        sagemaker.encode({"a": np.zeros(2), "b": np.ones(2)}, sagemaker.CSV)
    assert orjson.loads(sagemaker.encode({"a": np.zeros(2)}, sagemaker.JSON)) == {"predictions": {"a": [0.0, 0.0]}}


def test_csv_strings_and_json_detection():
    assert TEXT.rows(["x"]).dtype == object
    assert sagemaker.decode_csv(b"text\nabc\ndef\n", TEXT).reshape(-1).tolist() == ["abc", "def"]
    assert sagemaker.is_oip_body({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})
    assert not sagemaker.is_oip_body({"inputs": [[1, 2]]})
    assert not sagemaker.is_oip_body({"inputs": {"x": [1]}})
