"""The authorizer on the sample REQUEST events (tests/events/authorizer_*.json)."""

import pytest

from functions.auth.handler import Unauthorized, lambda_handler
from functions.core.governance import set_alias
from functions.core.models import NewModel, NewVersion, system_actor
from functions.core.ports import Context
from functions.core.registry import create_model, publish_version
from tests.functional.gateway import LambdaContext, sample

STAGE = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*"


@pytest.fixture
def consumer(control_plane_env, make_key):
    return make_key("consumer", owner="carol", patterns=["churn*"])


def with_token(name: str, token: str) -> dict:
    event = sample(name)
    event["headers"]["Authorization"] = f"Bearer {token}"
    return event


def test_control_plane_allow_covers_the_stage(consumer):
    answer = lambda_handler(with_token("authorizer_request", consumer), LambdaContext())
    assert answer["principalId"] == consumer.split("_")[1]
    assert answer["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE}
    ]
    assert answer["context"] == {
        "principal": consumer.split("_")[1], "owner": "carol", "roles": "consumer", "patterns": "churn*",
    }  # fmt: skip
    assert all(isinstance(v, str) for v in answer["context"].values())


def test_unknown_key_is_unauthorized(control_plane_env):
    with pytest.raises(Unauthorized) as refused:
        lambda_handler(sample("authorizer_request"), LambdaContext())
    assert str(refused.value) == "Unauthorized"


def test_inference_sample_routes_to_the_serving_endpoint(consumer):
    from functions.adapters import wiring

    system = Context(actor=system_actor("test"), request_id="t")
    deps = wiring.deps()
    create_model(deps, system, NewModel(name="churn", owner="x", framework="onnx"))
    event = with_token("authorizer_inference", consumer)
    denied = lambda_handler(event, LambdaContext())
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["context"]["code"] == "VersionNotFound" and "1.x" in denied["context"]["message"]
    publish_version(deps, system, "churn", NewVersion(version="1.4.2", sha256="ab" * 32, size=1))
    set_alias(deps, system, "churn", "staging", "1.4.2", endpoint="mp-dev-churn-staging")
    allowed = lambda_handler(event, LambdaContext())
    # an inference answer covers its own method ARN only (see below)
    assert allowed["policyDocument"]["Statement"][0] == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
    assert {k: allowed["context"][k] for k in ("endpoint", "model", "version")} == {
        "endpoint": "mp-dev-churn-staging", "model": "churn", "version": "1.4.2",
    }  # fmt: skip


# --- a cached answer never reaches past the request it was made for ---------------------
# API Gateway caches an answer under its identity sources and evaluates the cached policy
# against each later request's method ARN (contracts.md, "Authorizer context").

def _two_models(deps) -> None:
    system = Context(actor=system_actor("test"), request_id="t")
    for name in ("churn", "fraud"):
        create_model(deps, system, NewModel(name=name, owner="x", framework="onnx"))
        publish_version(deps, system, name, NewVersion(version="1.0.0", sha256="ab" * 32, size=1))
        set_alias(deps, system, name, "staging", "1.0.0", endpoint=f"mp-dev-{name}-staging")


def _invoke_event(token: str, name: str, path: str | None = None) -> dict:
    event = with_token("authorizer_inference", token)
    path = path or f"/v1/models/{name}/versions/staging/invocations"
    event.update(
        methodArn=f"arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST{path}",
        path=path, pathParameters={"name": name, "spec": "staging"},
    )
    event["requestContext"]["path"] = f"/dev{path}"
    return event


def _arn(path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST{path}"


def test_a_cached_allow_for_one_model_never_authorizes_another(control_plane_env, make_key):
    from functions.adapters import wiring
    from modelport.local.gateway.authorizer import decision_from

    _two_models(wiring.deps())
    token = make_key("consumer", owner="carol", patterns=["*"])
    allowed = decision_from(lambda_handler(_invoke_event(token, "churn"), LambdaContext()))
    assert allowed.context["endpoint"] == "mp-dev-churn-staging"
    assert allowed.allows(_arn("/v1/models/churn/versions/staging/invocations"))
    # the same answer, read from the cache for a request to another model, authorizes nothing
    for other in ("/v1/models/fraud/versions/staging/invocations", "/v2/models/fraud/versions/staging/infer",
                  "/v1/models/fraud/invocations", "/v1/models/churn/versions/1.0.0/invocations"):
        assert not allowed.allows(_arn(other)), other


def test_a_cached_deny_for_a_typo_blocks_nothing_else(control_plane_env, make_key):
    from functions.adapters import wiring
    from modelport.local.gateway.authorizer import decision_from

    _two_models(wiring.deps())
    token = make_key("consumer", owner="carol", patterns=["*"])
    denied = lambda_handler(_invoke_event(token, "chrun"), LambdaContext())
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["context"]["code"] == "ModelNotFound"
    decision = decision_from(denied)
    statement_resources = [r for effect, resources in decision.statements if effect == "Deny" for r in resources]
    from fnmatch import fnmatchcase as arn_matches  # IAM's `*` (no resource here has `?` or `[`)

    assert any(arn_matches(_arn("/v1/models/chrun/versions/staging/invocations"), r) for r in statement_resources)
    for other in ("/v1/models/churn/versions/staging/invocations", "/v1/models/fraud/invocations"):
        assert not any(arn_matches(_arn(other), r) for r in statement_resources), other


def test_the_answer_depends_only_on_the_identity_sources(control_plane_env, make_key):
    """What is not an identity source (other headers, query strings, the body) cannot change
    the answer, or a cached answer would be wrong for some request with the same key."""
    from functions.adapters import wiring

    _two_models(wiring.deps())
    token = make_key("consumer", owner="carol", patterns=["churn"])
    base = lambda_handler(_invoke_event(token, "churn"), LambdaContext())
    for change in ({"headers": {"X-Other": "1"}}, {"queryStringParameters": {"model": "fraud"}},
                   {"multiValueQueryStringParameters": {"name": ["fraud"]}}, {"stageVariables": {"a": "b"}}):
        event = _invoke_event(token, "churn")
        for field, value in change.items():
            event[field] = {**(event.get(field) or {}), **value}
        assert lambda_handler(event, LambdaContext()) == base, change


def test_a_deny_for_a_long_path_stays_within_the_resource_limit(control_plane_env, make_key):
    token = make_key("consumer", owner="carol", patterns=["*"])
    long_name = "m" * 900
    denied = lambda_handler(_invoke_event(token, long_name), LambdaContext())
    statement = denied["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    # API Gateway limits the policy's Resource to 512 characters
    assert all(len(r) <= 512 for r in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]))


def test_through_the_gateway_each_model_gets_its_own_answer_and_a_hit_runs_no_lambda(control_plane_env, make_key):
    """The local gateway with the real authorizer: API Gateway's cache rule, the definitions
    the Api stack synthesizes, and a SageMaker runtime that records where requests go."""
    import asyncio
    import importlib
    from types import SimpleNamespace

    import httpx

    from functions.adapters import wiring
    from modelport.local.gateway import GatewayApp, Stage

    _two_models(wiring.deps())
    token = make_key("consumer", owner="carol", patterns=["*"])
    calls: list[str] = []
    routed: list[str] = []

    def invoke_lambda(name: str, event: dict) -> dict:
        calls.append(name)
        folder = "auth" if name == "authorizer" else name
        return importlib.import_module(f"functions.{folder}.handler").lambda_handler(event, LambdaContext())

    def invoke_endpoint(endpoint: str, body: bytes, **_: object) -> SimpleNamespace:
        routed.append(endpoint)
        return SimpleNamespace(body=b'{"predictions": [1]}', content_type="application/json", variant="AllTraffic")

    app = GatewayApp(invoke_lambda, invoke_endpoint, stage=Stage(api_id="abc123", stage="dev"))

    async def run() -> list[tuple[int, dict]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            out = []
            for name in ("churn", "fraud", "churn", "chrun", "fraud", "churn"):
                reply = await http.post(f"/v1/models/{name}/versions/staging/invocations", content=b"[[1]]",
                                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                out.append((reply.status_code, reply.json()))
            return out

    try:
        replies = asyncio.run(run())
    finally:
        app.close()
    assert [status for status, _ in replies] == [200, 200, 200, 403, 200, 200]
    assert replies[3][1]["error"]["code"] == "ModelNotFound"
    assert routed == ["mp-dev-churn-staging", "mp-dev-fraud-staging", "mp-dev-churn-staging",
                      "mp-dev-fraud-staging", "mp-dev-churn-staging"]
    # one authorizer call per (key, path); every later request is a cache hit: no Lambda at all
    assert calls == ["authorizer"] * 3 and app.cache.calls == 3
