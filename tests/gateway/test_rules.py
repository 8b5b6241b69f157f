"""The gateway's pieces without a server: route matching, API Gateway events, the
REQUEST-authorizer caching rule and policy evaluation."""

from __future__ import annotations

import base64

import pytest

from functions.routes import ROUTES, find
from modelport.local.gateway.authorizer import (
    AuthorizerCache,
    AuthorizerFailure,
    Unauthorized,
    decision_from,
)
from modelport.local.gateway.events import (
    Incoming,
    Stage,
    authorizer_event,
    decode_result,
    proxy_event,
)
from modelport.local.gateway.routing import Router

SAMPLE = {"name": "churn", "spec": "1.x", "alias": "production", "key_id": "0123456789abcdef",
          "deployment_id": "20250101-120000-a1b2c3", "retrain_id": "20250101-120000-0123456789abcdef"}
STAGE = Stage(api_id="api1", stage="local", region="us-east-1", account_id="123456789012")


def incoming(method="GET", path="/v1/models", body=b"", headers=None, query=None) -> Incoming:
    headers = {"Authorization": "Bearer mp_x", "Content-Type": "application/json", **(headers or {})}
    query = query or {}
    return Incoming(method, path, headers, {k: [v] for k, v in headers.items()}, query,
                    {k: [v] for k, v in query.items()}, body, "127.0.0.1", "req-1")


def test_every_route_matches_its_own_path_and_nothing_else() -> None:
    router = Router()
    for route in ROUTES:
        path = route.path
        for name in route.path_params:
            path = path.replace("{" + name + "}", SAMPLE[name])
        found = router.match(route.method, path)
        assert found is not None and found.route == route, route
        assert found.params == {name: SAMPLE[name] for name in route.path_params}
    assert router.match("GET", "/v1/nothing") is None
    assert router.match("PATCH", "/v1/models") is None
    assert router.match("GET", "/v1/models/churn/versions/1.0.0/submit") is None  # POST only


def test_path_parameters_are_decoded_and_literals_win() -> None:
    router = Router()
    found = router.match("GET", "/v1/models/churn/versions/1%2Ex")
    assert found.params == {"name": "churn", "spec": "1.x"}
    assert router.match("GET", "/v1/audit/verify").route == find("GET", "/v1/audit/verify")
    assert router.match("GET", "/v1/models//versions") is None


def test_proxy_event_has_the_rest_v1_shape() -> None:
    route = find("POST", "/v1/models/{name}/versions")
    event = proxy_event(STAGE, route, incoming("POST", "/v1/models/churn/versions", b'{"bump": "patch"}',
                                               query={"a": "1"}), {"name": "churn"}, {"principal": "k1", "principalId": "k1"})
    assert set(event) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                          "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                          "body", "isBase64Encoded"}
    assert (event["resource"], event["path"], event["httpMethod"]) == (route.path, "/v1/models/churn/versions", "POST")
    assert event["body"] == '{"bump": "patch"}' and event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"name": "churn"} and event["queryStringParameters"] == {"a": "1"}
    context = event["requestContext"]
    assert context["authorizer"] == {"principal": "k1", "principalId": "k1"}
    assert (context["requestId"], context["stage"], context["path"], context["apiId"]) == ("req-1", "local", "/local/v1/models/churn/versions", "api1")
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["resourcePath"] == route.path


def test_binary_bodies_are_base64_and_empty_ones_null() -> None:
    route = find("POST", "/v1/models")
    raw = bytes(range(256))
    event = proxy_event(STAGE, route, incoming("POST", body=raw, headers={"Content-Type": "application/octet-stream"}), {}, None)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == raw
    empty = proxy_event(STAGE, find("GET", "/v1/models"), incoming(), {}, None)
    assert empty["body"] is None and empty["pathParameters"] is None and "authorizer" not in empty["requestContext"]


def test_authorizer_event_is_a_request_event_without_body() -> None:
    route = find("POST", "/v1/models/{name}/invocations")
    event = authorizer_event(STAGE, route, incoming("POST", "/v1/models/churn/invocations", b"[[1]]"), {"name": "churn"})
    assert event["type"] == "REQUEST" and "body" not in event
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:api1/local/POST/v1/models/churn/invocations"
    assert event["pathParameters"] == {"name": "churn"} and event["headers"]["Authorization"] == "Bearer mp_x"


def test_identity_sources_follow_the_authorizer_kind() -> None:
    cache = AuthorizerCache()
    control = find("GET", "/v1/models")
    model = find("POST", "/v1/models/{name}/invocations")
    version = find("POST", "/v1/models/{name}/versions/{spec}/invocations")
    assert cache.identity(control, "Bearer a", {"name": "x"}) == cache.identity(find("GET", "/v1/keys"), "Bearer a", {})
    assert cache.identity(model, "Bearer a", {"name": "x"}) != cache.identity(model, "Bearer a", {"name": "y"})
    assert cache.identity(version, "Bearer a", {"name": "x", "spec": "1"}) != cache.identity(version, "Bearer a", {"name": "x", "spec": "2"})
    assert cache.identity(model, "Bearer a", {"name": "x"}) != cache.identity(model, "Bearer b", {"name": "x"})
    for auth, params in ((None, {"name": "x"}), ("  ", {"name": "x"}), ("Bearer a", {})):
        with pytest.raises(Unauthorized):
            cache.identity(model, auth, params)


def test_answers_are_cached_for_the_ttl_and_flushed_on_demand() -> None:
    now = [100.0]
    cache = AuthorizerCache(ttl_s=300, clock=lambda: now[0])
    decision = decision_from(policy("Allow"))
    cache.store(("k",), decision)
    now[0] += 299
    assert cache.cached(("k",)) is decision
    now[0] += 1
    assert cache.cached(("k",)) is None
    cache.store(("k",), decision)
    cache.flush()
    assert cache.cached(("k",)) is None and cache.flushes == 1
    off = AuthorizerCache(ttl_s=0)
    off.store(("k",), decision)
    assert off.cached(("k",)) is None


def policy(effect: str, resource: str = "arn:aws:execute-api:us-east-1:123456789012:api1/local/*/*", **context) -> dict:
    return {"principalId": "k1", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}, "context": context}


def test_policies_are_evaluated_against_the_method_arn() -> None:
    arn = STAGE.method_arn("GET", "/v1/models")
    assert decision_from(policy("Allow")).allows(arn)
    assert not decision_from(policy("Deny")).allows(arn)
    narrow = decision_from(policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:api1/local/GET/v1/keys"))
    assert not narrow.allows(arn) and narrow.allows(STAGE.method_arn("GET", "/v1/keys"))
    both = policy("Allow")
    both["policyDocument"]["Statement"].append({"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": arn})
    assert not decision_from(both).allows(arn)


def test_context_values_become_strings_and_bad_answers_fail() -> None:
    decision = decision_from(policy("Allow", n=3, flag=True, text="a"))
    assert decision.context == {"n": "3", "flag": "true", "text": "a"}
    for bad in ({}, {"principalId": "x"}, policy("Maybe"), policy("Allow", nested={"a": 1})):
        with pytest.raises(AuthorizerFailure):
            decision_from(bad)


def test_integration_results_decode_headers_and_base64() -> None:
    status, headers, body = decode_result({"statusCode": 201, "headers": {"Content-Type": "application/json"},
                                           "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": '{"x": 1}'})
    assert status == 201 and body == b'{"x": 1}'
    assert (b"Set-Cookie", b"a=1") in headers and (b"Set-Cookie", b"b=2") in headers
    assert decode_result({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})[2] == b"\x00\x01"
    with pytest.raises(ValueError):
        decode_result({"body": "no status"})
