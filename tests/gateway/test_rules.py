"""The gateway's pieces without a server: route matching, API Gateway events, the
REQUEST-authorizer caching rule and policy evaluation."""

from __future__ import annotations

import base64

import pytest

from functions.apigw import AUTHORIZERS, AuthorizerDefinition, InvalidIdentitySource
from functions.routes import ROUTES, find
from modelport.local.gateway.app import known_context
from modelport.local.gateway.authorizer import (
    AuthorizerCache,
    AuthorizerFailure,
    RequestValues,
    Unauthorized,
    arn_matches,
    decision_from,
)
from modelport.local.gateway.events import (
    Incoming,
    Stage,
    authorizer_event,
    decode_result,
    proxy_event,
    request_context,
)
from modelport.local.gateway.routing import Router

SAMPLE = {"name": "churn", "spec": "1.x", "alias": "production", "key_id": "0123456789abcdef",
          "deployment_id": "20250101-120000-a1b2c3", "retrain_id": "20250101-120000-0123456789abcdef",
          "change_id": "20250101-120000-d4e5f6", "run_id": "20250101-120000-a1b2c4"}
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
    assert router.match("PATCH", "/v1/models/churn").route == find("PATCH", "/v1/models/{name}")
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


def values(route, path: str, authorization: str | None = "Bearer a", **headers) -> RequestValues:
    request = incoming("POST", path, headers={**headers, **({"Authorization": authorization} if authorization is not None else {})})
    if authorization is None:
        request.headers.pop("Authorization")
    return RequestValues(request.headers, request.query, {}, request_context(STAGE, route, request, 0.0))


def test_cache_key_is_the_identity_source_values() -> None:
    """API Gateway keys the cache on the identity sources alone (functions.apigw.AUTHORIZERS):
    the API key for the control plane, the API key and `$context.path` for inference."""
    cache = AuthorizerCache(known_context=known_context(STAGE))
    control, keys = find("GET", "/v1/models"), find("GET", "/v1/keys")
    model = find("POST", "/v1/models/{name}/invocations")
    version = find("POST", "/v1/models/{name}/versions/{spec}/invocations")
    assert cache.identity(control, values(control, "/v1/models")) == cache.identity(keys, values(keys, "/v1/keys"))
    assert cache.identity(model, values(model, "/v1/models/x/invocations")) == (
        "inference", "Bearer a", "/local/v1/models/x/invocations")
    assert cache.identity(model, values(model, "/v1/models/x/invocations")) != cache.identity(model, values(model, "/v1/models/y/invocations"))
    one, two = (cache.identity(version, values(version, f"/v1/models/x/versions/{s}/invocations")) for s in ("1.x", "2.x"))
    assert one != two
    assert cache.identity(model, values(model, "/v1/models/x/invocations", "Bearer b")) != cache.identity(model, values(model, "/v1/models/x/invocations"))
    # what is not an identity source is not part of the key
    assert cache.identity(model, values(model, "/v1/models/x/invocations", X_Other="1")) == cache.identity(model, values(model, "/v1/models/x/invocations"))
    for authorization in (None, "", "  "):
        with pytest.raises(Unauthorized):
            cache.identity(model, values(model, "/v1/models/x/invocations", authorization))


def test_the_gateway_refuses_identity_sources_aws_refuses() -> None:
    """Path parameters "cannot be used as identity sources" (api-gateway-lambda-authorizer-input.html)."""
    for bad in ("method.request.path.name", "method.request.body", "Authorization", "context."):
        with pytest.raises(InvalidIdentitySource):
            AuthorizerCache(authorizers={"inference": AuthorizerDefinition("inference", ("method.request.header.Authorization", bad))})
    with pytest.raises(InvalidIdentitySource, match="no \\$context variable"):
        AuthorizerCache(authorizers={"inference": AuthorizerDefinition("inference", ("context.nothing",))},
                        known_context=known_context(STAGE))
    # every kind AWS accepts is read from the request
    accepted = AuthorizerDefinition("control_plane", ("method.request.header.X-Key", "method.request.querystring.q",
                                                      "stageVariables.v", "context.identity.sourceIp"))
    cache = AuthorizerCache(authorizers={"control_plane": accepted}, known_context=known_context(STAGE))
    request = incoming("GET", "/v1/models", headers={"x-key": "k"}, query={"q": "1"})
    route = find("GET", "/v1/models")
    found = RequestValues(request.headers, request.query, {"v": "s"}, request_context(STAGE, route, request, 0.0))
    assert cache.identity(route, found) == ("control_plane", "k", "1", "s", "127.0.0.1")
    with pytest.raises(Unauthorized):  # a missing stage variable is a missing identity source
        cache.identity(route, RequestValues(request.headers, request.query, {}, found.context))


def test_definitions_are_what_the_api_stack_synthesizes_and_aws_accepts() -> None:
    for definition in AUTHORIZERS.values():
        definition.sources()
    assert {r.authorizer for r in ROUTES if not r.public} == set(AUTHORIZERS)


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
    # IAM wildcards: `*` any run of characters (slashes included), `?` one; nothing else is special
    assert arn_matches("a/b/c", "a/*") and arn_matches("a/b", "a/?") and not arn_matches("a/bc", "a/?")
    assert not arn_matches("a/b", "a/[b]") and arn_matches("a/[b]", "a/[b]")


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


def test_access_denied_renders_the_authorizer_context_as_valid_json() -> None:
    """Gateway responses substitute variables as they are (no VTL): the authorizer escapes."""
    import json

    from functions.apigw import ACCESS_DENIED_TEMPLATE, json_escaped, render_gateway_response

    message = 'model \'a"b\' has no "production" alias\n'
    rendered = render_gateway_response(ACCESS_DENIED_TEMPLATE, {"authorizer.code": "NotDeployed",
                                                                "authorizer.message": json_escaped(message)})
    assert json.loads(rendered) == {"error": {"code": "NotDeployed", "message": message}}


@pytest.mark.parametrize(
    ("content_type", "binary", "sent"),
    [
        # tritonclient sends no Content-Type: JSON (API Gateway picks the application/json template)
        (None, None, ("application/json", "modelport-protocol=oip-v2")),
        ("application/json", None, ("application/json", "modelport-protocol=oip-v2")),
        # the binary extension without a binary media type reaches the model as UTF-8 text on AWS:
        # marked, so the container refuses it naming the fix
        (None, "120", ("application/json", "modelport-protocol=oip-v2;modelport-binary=untyped")),
        # a binary media type passes through untouched; the container finds the JSON header's end
        ("application/octet-stream", "120", ("application/octet-stream", "modelport-protocol=oip-v2")),
        ("text/csv", None, ("text/csv", "modelport-protocol=oip-v2")),
    ],
)
def test_oip_v2_bodies_are_json_unless_the_binary_extension_says_otherwise(content_type, binary, sent) -> None:
    from functions.apigw import OIP_V2_REQUEST_TEMPLATE, oip_v2_request

    assert oip_v2_request(content_type, binary) == sent
    # the template on AWS does the same: marks the binary header, sets the JSON type, keeps the body
    assert "Inference-Header-Content-Length" in OIP_V2_REQUEST_TEMPLATE
    assert "modelport-binary=untyped" in OIP_V2_REQUEST_TEMPLATE
    assert OIP_V2_REQUEST_TEMPLATE.rstrip().endswith("$input.body")
