"""Every protocol and payload format against one scikit-learn (skops) server process."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pytest
import skops.io as sio

from tests.containers.models import FEATURES, data

SECRET = "s3cr3t-payload-value"


@pytest.fixture(scope="module")
def server(serve, artifacts):
    return serve(artifacts("skops"), MODELPORT_MAX_BODY_BYTES="65536").wait()


@pytest.fixture(scope="module")
def http(server):
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def forest(artifacts):
    path = artifacts("skops") / "model.skops"
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


@pytest.fixture(scope="module")
def rows_and_expected(forest):
    X, _ = data(n=7, seed=42)
    return X, forest.predict(X)


def test_health_routes(http):
    assert http.get("/ping").status_code == 200
    assert http.get("/health").status_code == 200
    assert http.get("/v2/health/live").status_code == 200
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert http.get("/execution-parameters").json()["BatchStrategy"] == "MULTI_RECORD"


@pytest.mark.parametrize("body", [
    "instances_rows", "instances_records", "inputs_columns", "inputs_rows", "split", "split_shuffled",
    "records", "bare_rows"])
def test_json_formats(http, rows_and_expected, body):
    X, expected = rows_and_expected
    rows = X.tolist()
    records = [dict(zip(FEATURES, r)) for r in rows]
    order = FEATURES[::-1]
    payload = {
        "instances_rows": {"instances": rows},
        "instances_records": {"instances": records},
        "inputs_columns": {"inputs": {f: X[:, i].tolist() for i, f in enumerate(FEATURES)}},
        "inputs_rows": {"inputs": rows},
        "split": {"dataframe_split": {"columns": FEATURES, "data": rows}},
        "split_shuffled": {"dataframe_split": {"columns": order,
                                               "data": [[r[FEATURES.index(c)] for c in order] for r in rows]}},
        "records": {"dataframe_records": records},
        "bare_rows": rows,
    }[body]
    response = http.post("/invocations", content=orjson.dumps(payload),
                         headers={"content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": expected.tolist()}


def test_csv_in_csv_out(http, rows_and_expected):
    X, expected = rows_and_expected
    body = "\n".join(",".join(repr(v) for v in row) for row in X.tolist())
    response = http.post("/invocations", content=body, headers={"content-type": "text/csv", "accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert [int(line) for line in response.text.splitlines()] == expected.tolist()


def test_csv_with_header_and_json_out(http, rows_and_expected):
    X, expected = rows_and_expected
    order = FEATURES[::-1]
    lines = [",".join(order)] + [",".join(repr(row[FEATURES.index(c)]) for c in order) for row in X.tolist()]
    response = http.post("/invocations", content="\n".join(lines), headers={"content-type": "text/csv"})
    assert response.json() == {"predictions": expected.tolist()}


def test_npy_in_npy_out(http, rows_and_expected):
    X, expected = rows_and_expected
    buf = io.BytesIO()
    np.save(buf, X)
    response = http.post("/invocations", content=buf.getvalue(),
                         headers={"content-type": "application/x-npy", "accept": "application/x-npy"})
    assert response.status_code == 200
    np.testing.assert_array_equal(np.load(io.BytesIO(response.content)), expected)


def _oip_body(X, request_id="req-1"):
    return {"id": request_id, "inputs": [
        {"name": f, "datatype": "FP64", "shape": [len(X)], "data": X[:, i].tolist()}
        for i, f in enumerate(FEATURES)]}


@pytest.mark.parametrize("path", ["/v2/models/forest/infer", "/v2/models/forest/versions/3/infer"])
def test_oip_infer_routes(http, rows_and_expected, forest, path):
    X, expected = rows_and_expected
    response = http.post(path, json=_oip_body(X))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "req-1" and body["model_name"] == "forest" and body["model_version"] == "3"
    # every output when none is asked for (OIP): the label, then one per class
    out, *probabilities = body["outputs"]
    assert out["name"] == "label" and out["datatype"] == "INT64" and out["shape"] == [len(X)]
    assert out["data"] == expected.tolist()
    assert [p["name"] for p in probabilities] == ["proba_0", "proba_1"]
    assert {p["datatype"] for p in probabilities} == {"FP64"}
    np.testing.assert_allclose(np.column_stack([p["data"] for p in probabilities]), forest.predict_proba(X))


def test_oip_outputs_asked_for(http, rows_and_expected, forest):
    X, _ = rows_and_expected
    only_label = http.post("/v2/models/forest/infer", json={**_oip_body(X), "outputs": [{"name": "label"}]})
    assert [o["name"] for o in only_label.json()["outputs"]] == ["label"]
    one_class = http.post("/v2/models/forest/infer", json={**_oip_body(X), "outputs": [{"name": "proba_1"}]})
    (out,) = one_class.json()["outputs"]
    assert out["name"] == "proba_1"
    np.testing.assert_allclose(out["data"], forest.predict_proba(X)[:, 1])
    unknown = http.post("/v2/models/forest/infer", json={**_oip_body(X), "outputs": [{"name": "nope"}]})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown outputs requested; this model has label, proba_0, proba_1"


def test_oip_single_tensor_nested_data(http, rows_and_expected):
    X, expected = rows_and_expected
    body = {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": list(X.shape), "data": X.tolist()}]}
    response = http.post("/v2/models/forest/infer", json=body)
    assert response.status_code == 200
    assert "id" not in response.json()
    assert response.json()["outputs"][0]["data"] == expected.tolist()


def test_oip_on_invocations_by_shape_and_by_attribute(http, rows_and_expected):
    X, expected = rows_and_expected
    by_shape = http.post("/invocations", json=_oip_body(X, "shape"))
    assert by_shape.json()["id"] == "shape"
    assert by_shape.json()["outputs"][0]["data"] == expected.tolist()
    by_attr = http.post("/invocations", content=orjson.dumps(_oip_body(X, "attr")),
                        headers={"content-type": "application/json",
                                 "X-Amzn-SageMaker-Custom-Attributes": "modelport-protocol=oip-v2"})
    assert by_attr.json()["id"] == "attr"
    assert by_attr.json()["outputs"][0]["data"] == expected.tolist()


def test_oip_metadata_and_readiness(http):
    meta = http.get("/v2/models/forest").json()
    assert meta["name"] == "forest" and meta["versions"] == ["3"] and meta["platform"] == "sklearn"
    assert [i["name"] for i in meta["inputs"]] == FEATURES
    assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
    assert meta["outputs"] == [{"name": "label", "datatype": "INT64", "shape": [-1]},
                               {"name": "proba_0", "datatype": "FP64", "shape": [-1]},
                               {"name": "proba_1", "datatype": "FP64", "shape": [-1]}]
    assert http.get("/v2/models/forest/ready").status_code == 200
    assert http.get("/v2/models/forest/versions/3/ready").status_code == 200
    assert http.get("/v2").json()["name"] == "modelport"
    missing = http.get("/v2/models/other")
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)
    assert http.get("/v2/models/forest/versions/9/ready").status_code == 404


@pytest.mark.parametrize("binary", [True, False])
def test_standard_oip_client(server, rows_and_expected, binary):
    """tritonclient's HTTP client, unchanged, including its binary tensor extension."""
    import tritonclient.http as triton

    X, expected = rows_and_expected
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("forest")
        assert client.get_model_metadata("forest")["platform"] == "sklearn"
        tensor = triton.InferInput("input-0", list(X.shape), "FP64")
        tensor.set_data_from_numpy(X, binary_data=binary)
        outputs = None if binary else [triton.InferRequestedOutput("label", binary_data=False)]
        result = client.infer("forest", [tensor], request_id="triton-1", outputs=outputs)
        np.testing.assert_array_equal(result.as_numpy("label"), expected)
        assert result.get_response()["id"] == "triton-1"
    finally:
        client.close()


def _binary_oip(X) -> tuple[bytes, int]:
    """The binary tensor extension as tritonclient builds it: a JSON header, then raw tensors."""
    header = orjson.dumps({"id": "bin-1", "inputs": [
        {"name": f, "datatype": "FP64", "shape": [len(X)], "parameters": {"binary_data_size": 8 * len(X)}}
        for f in FEATURES]})
    return header + b"".join(np.ascontiguousarray(X[:, i], dtype="<f8").tobytes() for i in range(len(FEATURES))), \
        len(header)


def test_the_binary_extension_as_sagemaker_passes_it_through_the_api(http, rows_and_expected):
    """Through the API and SageMaker only ContentType and CustomAttributes reach the container
    (no Inference-Header-Content-Length): an OIP request typed application/octet-stream has its
    JSON header's end found here; one that arrived untyped (UTF-8 text on AWS) is refused."""
    X, expected = rows_and_expected
    body, _ = _binary_oip(X)
    typed = http.post("/invocations", content=body, headers={
        "content-type": "application/octet-stream", "x-amzn-sagemaker-custom-attributes": "modelport-protocol=oip-v2"})
    assert typed.status_code == 200, typed.text
    assert typed.json()["id"] == "bin-1" and typed.json()["outputs"][0]["data"] == expected.tolist()
    untyped = http.post("/invocations", content=body, headers={
        "content-type": "application/json",
        "x-amzn-sagemaker-custom-attributes": "modelport-protocol=oip-v2;modelport-binary=untyped"})
    assert untyped.status_code == 415
    assert "application/octet-stream" in untyped.json()["error"]  # OIP's error shape: a string
    garbage = http.post("/invocations", content=b"\x00\x01 not json", headers={
        "content-type": "application/octet-stream", "x-amzn-sagemaker-custom-attributes": "modelport-protocol=oip-v2"})
    assert garbage.status_code == 400 and "JSON header" in garbage.json()["error"]


BAD_REQUESTS = [
    # (name, path, headers, body, status, code)
    ("malformed json", "/invocations", {"content-type": "application/json"}, b'{"instances": [[1,', 400, "invalid_input"),
    ("wrong content type", "/invocations", {"content-type": "application/xml"}, b"<x/>", 415, "unsupported_media_type"),
    ("unacceptable accept", "/invocations", {"content-type": "application/json", "accept": "image/png"},
     b'{"instances": [[1,2,3,4]]}', 406, "not_acceptable"),
    ("row too short", "/invocations", {"content-type": "application/json"}, b'{"instances": [[1,2,3]]}', 400, "invalid_input"),
    ("ragged rows", "/invocations", {"content-type": "application/json"}, b'{"instances": [[1,2,3,4],[1]]}', 400, "invalid_input"),
    ("strings for floats", "/invocations", {"content-type": "application/json"},
     b'{"instances": [["' + SECRET.encode() + b'",2,3,4]]}', 400, "invalid_input"),
    ("missing column", "/invocations", {"content-type": "application/json"},
     b'{"dataframe_records": [{"f0":1,"f1":2,"f2":3,"' + SECRET.encode() + b'":4}]}', 400, "invalid_input"),
    ("wrong split columns", "/invocations", {"content-type": "application/json"},
     b'{"dataframe_split": {"columns": ["a","b","c","d"], "data": [[1,2,3,4]]}}', 400, "invalid_input"),
    ("unknown json format", "/invocations", {"content-type": "application/json"}, b'{"rows": [[1,2,3,4]]}', 400, "invalid_input"),
    ("params", "/invocations", {"content-type": "application/json"},
     b'{"instances": [[1,2,3,4]], "params": {"x": 1}}', 400, "invalid_input"),
    ("csv with text", "/invocations", {"content-type": "text/csv"}, b"1,2,3," + SECRET.encode(), 400, "invalid_input"),
    ("npy pickle", "/invocations", {"content-type": "application/x-npy"}, None, 400, "invalid_input"),
    ("oversized", "/invocations", {"content-type": "application/json"}, b"[" + b"1," * 40000 + b"1]", 413, "payload_too_large"),
    ("get invocations", "/invocations", {}, None, 405, "method_not_allowed"),
    ("unknown route", "/nope", {}, b"{}", 404, "not_found"),
]


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_4xx_without_echo(http, case):
    name, path, headers, body, status, code = case
    if name == "npy pickle":
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": SECRET}], dtype=object), allow_pickle=True)
        body = buf.getvalue()
    if name == "get invocations":
        response = http.get(path)
    else:
        response = http.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert SECRET not in response.text


OIP_BAD = [
    ("wrong datatype", [{"name": "f0", "datatype": "BYTES", "shape": [1], "data": ["x"]}]),
    ("shape mismatch", [{"name": "x", "datatype": "FP64", "shape": [2, 4], "data": [1, 2, 3]}]),
    ("missing inputs", [{"name": "f0", "datatype": "FP64", "shape": [1], "data": [1.0]},
                        {"name": "f1", "datatype": "FP64", "shape": [1], "data": [1.0]}]),
    ("bad datatype name", [{"name": "x", "datatype": "FLOAT", "shape": [1, 4], "data": [1, 2, 3, 4]}]),
]


@pytest.mark.parametrize("case", OIP_BAD, ids=[c[0] for c in OIP_BAD])
def test_oip_bad_requests(http, case):
    response = http.post("/v2/models/forest/infer", json={"inputs": case[1]})
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_oip_unknown_output_and_binary_overrun(http):
    X = np.ones((1, 4))
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": X.ravel().tolist()}],
            "outputs": [{"name": "nope"}]}
    assert http.post("/v2/models/forest/infer", json=body).status_code == 400
    header = orjson.dumps({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4],
                                       "parameters": {"binary_data_size": 64}}]})
    response = http.post("/v2/models/forest/infer", content=header + b"\0" * 8,
                         headers={"Inference-Header-Content-Length": str(len(header))})
    assert response.status_code == 400


def test_still_serving_after_bad_requests(http, rows_and_expected):
    X, expected = rows_and_expected
    for _ in range(3):
        http.post("/invocations", content=b"{oops", headers={"content-type": "application/json"})
    assert http.get("/ping").status_code == 200
    response = http.post("/invocations", json={"instances": X.tolist()})
    assert response.json() == {"predictions": expected.tolist()}


def test_integer_rows_accepted_for_float_signature(http):
    response = http.post("/invocations", json={"instances": [[1, 0, 0, 0]]})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


def _npy(header: dict, data: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


@pytest.mark.parametrize("shape", [(10**11,), (10**6, 10**6), (2**62, 4), (3, 4)])
def test_an_npy_header_that_lies_about_its_size_is_a_400_before_anything_is_allocated(http, shape):
    """Issue 10, finding 6: a header claiming shape (1e11,) made numpy raise MemoryError, a 500
    (twenty of them during a bake rolled a deployment back). The declared size is checked
    against the body before any allocation."""
    response = http.post("/invocations", content=_npy({"descr": "<f8", "fortran_order": False, "shape": shape},
                                                      b"\0" * 16),
                         headers={"content-type": "application/x-npy"})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "declares" in message and "16 bytes" in message


def test_a_truthful_npy_body_still_works(http, rows_and_expected):
    rows, expected = rows_and_expected
    body = _npy({"descr": "<f8", "fortran_order": False, "shape": rows.shape},
                np.ascontiguousarray(rows, dtype="<f8").tobytes())
    response = http.post("/invocations", content=body, headers={"content-type": "application/x-npy"})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected.tolist()


OIP_ECHO = [
    [{"name": SECRET, "datatype": "FP64", "shape": [2, 4], "data": [1, 2, 3]}],
    [{"name": SECRET, "datatype": "FP64", "shape": [-1], "data": [1]}],
    [{"name": SECRET, "datatype": "FP64", "shape": [1, 4]}],
    [{"name": SECRET, "datatype": "BYTES", "shape": [1, 4], "data": [1, 2, 3, 4]}],
    [{"name": SECRET, "datatype": "FP64", "shape": [1, 4], "data": [1, 2, 3, 4]},
     {"name": SECRET, "datatype": "FP64", "shape": [1, 4], "data": [1, 2, 3, 4]}],
    [{"name": SECRET, "datatype": "FP64", "shape": [2**62, 4], "data": []}],
]


@pytest.mark.parametrize("inputs", OIP_ECHO)
@pytest.mark.parametrize("path", ["/v2/models/forest/infer", "/invocations"])
def test_oip_errors_never_echo_the_callers_input_or_output_names(http, inputs, path):
    """Issue 10 (consumer-facing errors): OIP messages echoed the input names a caller sent."""
    response = http.post(path, json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert SECRET not in response.text
    unknown_output = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": [1, 2, 3, 4]}],
                      "outputs": [{"name": SECRET}]}
    refused = http.post(path, json=unknown_output)
    assert refused.status_code == 400 and SECRET not in refused.text
