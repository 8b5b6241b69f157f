"""The gateway over real HTTP on a running local platform: the real authorizer and
handlers, API Gateway's caching rule and flush, and the direct inference path."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from modelport import Client


@pytest.fixture
def http(platform) -> httpx.Client:
    with httpx.Client(base_url=platform.api_url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_one_authorizer_call_serves_every_control_plane_route_until_flushed(platform, admin, http) -> None:
    token = admin.keys.create({"owner": "cache-test", "roles": ["admin"]}).token
    cache = platform.gateway.app.cache
    before = cache.calls
    for path in ("/v1/models", "/v1/keys", "/v1/models?limit=1"):
        assert http.get(path, headers=bearer(token)).status_code == 200
    assert cache.calls == before + 1
    # what the deploy workflow does after moving an alias, through the embedded AWS
    apigateway = boto3.client("apigateway", endpoint_url=platform.aws_url, region_name="us-east-1",
                              **platform.cloud.aws.credentials.boto3())
    apigateway.flush_stage_authorizers_cache(restApiId="local", stageName="local")
    assert cache.flushes >= 1 and len(cache) == 0
    assert http.get("/v1/models", headers=bearer(token)).status_code == 200
    assert cache.calls == before + 2


def test_refusals_use_the_platform_error_shape(platform, http) -> None:
    calls = platform.gateway.app.cache.calls
    missing = http.get("/v1/models")
    assert missing.status_code == 401 and missing.json() == {
        "error": {"code": "Unauthenticated", "message": "missing or invalid API key"}}
    assert platform.gateway.app.cache.calls == calls  # no identity source: the authorizer is not called
    wrong = http.get("/v1/models", headers=bearer("mp_0123456789abcdef_" + "x" * 43))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "Unauthenticated"
    nowhere = http.get("/v1/nowhere", headers=bearer("x"))
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "NotFound"
    huge = http.post("/v1/models", content=b"x" * (10 * 1024 * 1024 + 1), headers=bearer("x"))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "PayloadTooLarge"


def test_handler_errors_pass_through_with_a_request_id(admin, http, platform) -> None:
    answer = http.post("/v1/models", content=b"{not json", headers={**bearer(platform.admin_key), "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidInput"
    assert answer.headers["x-amzn-requestid"]


def test_inference_goes_straight_to_the_endpoint_with_one_cached_authorization(platform, admin, deployed, http) -> None:
    token = admin.keys.create({"owner": "app", "roles": ["consumer"], "patterns": [deployed]}).token
    cache = platform.gateway.app.cache
    before = cache.calls
    for _ in range(5):
        answer = http.post(f"/v1/models/{deployed}/invocations", json=[[1, 2], [3, 4]], headers=bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [4.0, 8.0]}
    assert answer.headers["x-amzn-invoked-production-variant"]
    assert cache.calls == before + 1
    pinned = http.post(f"/v1/models/{deployed}/versions/1.0.0/invocations", json={"instances": [[0, 0]]}, headers=bearer(token))
    assert pinned.json() == {"predictions": [1.0]} and cache.calls == before + 2


def test_inference_refusals_name_the_reason(platform, admin, deployed, http, unique) -> None:
    other = admin.keys.create({"owner": "other-app", "roles": ["consumer"], "patterns": ["nothing-*"]}).token
    forbidden = http.post(f"/v1/models/{deployed}/invocations", json=[[1]], headers=bearer(other))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "Forbidden"
    unknown = http.post(f"/v1/models/none-{unique}/invocations", json=[[1]], headers=bearer(platform.admin_key))
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "ModelNotFound"
    admin.models.create({"name": f"idle-{unique}", "owner": "tests", "framework": "python"})
    idle = http.post(f"/v1/models/idle-{unique}/invocations", json=[[1]], headers=bearer(platform.admin_key))
    assert idle.status_code == 403 and idle.json()["error"]["code"] == "NotDeployed"
    assert f"idle-{unique}" in idle.json()["error"]["message"]


def test_v2_routes_add_the_oip_attribute(platform, deployed, http) -> None:
    oip = {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    answer = http.post(f"/v2/models/{deployed}/infer", json=oip, headers=bearer(platform.admin_key))
    assert answer.status_code == 200
    assert answer.json()["outputs"][0]["data"] == [4.0, 8.0]
    # a body that is no OIP request: the container treats it as OIP only because of the attribute
    v2 = http.post(f"/v2/models/{deployed}/infer", json={"instances": [[1, 2]]}, headers=bearer(platform.admin_key))
    v1 = http.post(f"/v1/models/{deployed}/invocations", json={"instances": [[1, 2]]}, headers=bearer(platform.admin_key))
    assert v1.status_code == 200 and v1.json() == {"predictions": [4.0]}
    assert v2.status_code == 400, v2.text  # the container's own status (SageMaker's 424 unwrapped)
    assert v2.json().keys() == {"error"}  # OIP's own error shape, from the container


def test_a_models_own_4xx_reaches_the_caller_without_sagemakers_details(platform, deployed, http) -> None:
    """SageMaker wraps a container's 4xx as a 424 ModelError (OriginalStatusCode,
    OriginalMessage, LogStreamArn); the caller gets the container's status and body and
    never the log stream (account id, log group)."""
    reply = http.post(f"/v1/models/{deployed}/invocations", content=b"not json at all",
                      headers={"Authorization": f"Bearer {platform.admin_key}", "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == "invalid_input"  # the container's own error body
    for leak in ("LogStreamArn", "log-stream", "OriginalStatusCode", platform.settings.account_id):
        assert leak not in reply.text


def test_concurrent_requests_never_mix_callers(platform, admin) -> None:
    """Handlers keep the current event in module globals; each caller must still be itself."""
    from concurrent.futures import ThreadPoolExecutor

    owners = [f"mix-{i}" for i in range(10)]
    tokens = {o: admin.keys.create({"owner": o, "roles": ["publisher"], "patterns": [f"{o}*"]}).token for o in owners}

    def create(owner: str) -> list[str]:
        with Client(platform.api_url, tokens[owner]) as client:
            return [client.models.create({"name": f"{owner}-{i}", "owner": owner, "framework": "python"}).created_by
                    for i in range(5)]

    with ThreadPoolExecutor(len(owners)) as pool:
        created_by = dict(zip(owners, pool.map(create, owners)))
    key_ids = {o: tokens[o].split("_")[1] for o in owners}
    assert created_by == {o: [key_ids[o]] * 5 for o in owners}


def test_every_answer_names_its_inference_id_and_the_capture_records_it(platform, deployed, http) -> None:
    """The gateway passes its request id as SageMaker's InferenceId and returns it, so labels
    posted later can be joined to the captured request."""
    answers = [http.post(f"/v1/models/{deployed}/invocations", json=[[i, 1]], headers=bearer(platform.admin_key))
               for i in range(3)]
    ids = [a.headers["x-modelport-inference-id"] for a in answers]
    assert ids == [a.headers["x-amzn-requestid"] for a in answers] and len(set(ids)) == 3
    with Client(platform.api_url, platform.admin_key) as client:
        assert client.invoke(deployed, [[0, 0]]).inference_id

    platform.cloud.sagemaker.capture.flush()
    s3 = platform.client("s3")
    bucket = platform.names.captures_bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if deployed in o["Key"]]
    records = [json.loads(line) for key in keys
               for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]
    by_id = {r["eventMetadata"].get("inferenceId"): r for r in records}
    for i, inference_id in enumerate(ids):
        captured = by_id[inference_id]["captureData"]
        assert json.loads(captured["endpointInput"]["data"]) == [[i, 1]]
        assert json.loads(captured["endpointOutput"]["data"]) == {"predictions": [i + 2.0]}


def _triton(platform):
    import tritonclient.http as triton

    return triton, triton.InferenceServerClient(url=platform.api_url.split("://", 1)[1].rstrip("/"))


@pytest.mark.parametrize("binary", [False, True], ids=["json-tensors", "binary-extension"])
def test_the_standard_oip_client_through_the_gateway(platform, deployed, binary) -> None:
    """tritonclient, unchanged, sends OIP v2 requests without a Content-Type: their bodies
    are JSON unless the binary-extension header (Inference-Header-Content-Length) says
    otherwise (functions.apigw.oip_v2_request; the /v2 integration's mapping on AWS)."""
    import numpy as np

    triton, client = _triton(platform)
    rows = np.array([[1.0, 2.0], [3.0, 4.0]])
    tensor = triton.InferInput("x", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    auth = bearer(platform.admin_key)
    try:
        if binary:
            # a binary body without a binary media type is UTF-8 text to API Gateway: refused, naming the fix
            with pytest.raises(triton.InferenceServerException) as refused:
                client.infer(deployed, [tensor], headers=auth)
            assert refused.value.status() == "415" and "application/octet-stream" in refused.value.message()
            auth = {**auth, "Content-Type": "application/octet-stream"}
        outputs = [triton.InferRequestedOutput(_output_name(platform, deployed), binary_data=False)]
        result = client.infer(deployed, [tensor], headers=auth, outputs=outputs, request_id="oip-1")
    finally:
        client.close()
    response = result.get_response()
    assert response["id"] == "oip-1"
    assert response["outputs"][0]["data"] == [4.0, 8.0]


def _output_name(platform, deployed) -> str:
    """The model's output tensor (OIP metadata, through the container)."""
    with httpx.Client(base_url=platform.api_url, timeout=30) as http:
        reply = http.post(f"/v2/models/{deployed}/infer", headers=bearer(platform.admin_key),
                          json={"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [0, 0]}]})
    assert reply.status_code == 200, reply.text
    return reply.json()["outputs"][0]["name"]
