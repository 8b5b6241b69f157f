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
    assert allowed["policyDocument"]["Statement"][0] == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE}
    assert {k: allowed["context"][k] for k in ("endpoint", "model", "version")} == {
        "endpoint": "mp-dev-churn-staging", "model": "churn", "version": "1.4.2",
    }  # fmt: skip
