"""The control-plane API end to end: gateway → authorizer → handler → moto."""

import hashlib
import json

import boto3
import pytest

from functions.adapters.s3 import hex_to_b64
from tests.conftest import ARTIFACTS

BODY = b"pretend this is model.tar.gz"
SHA = hashlib.sha256(BODY).hexdigest()
CARD = {"intended_use": "churn", "limitations": "EU", "evaluation": "auc .9", "training_data": "2024 CRM"}


def upload(reply):
    """PUT the artifact with the headers the API asked for (boto3 stands in for curl here)."""
    headers = reply.body["upload"]["headers"]
    key = reply.body["version"]["artifact"]["uri"].split(f"{ARTIFACTS}/", 1)[1]
    boto3.client("s3").put_object(
        Bucket=ARTIFACTS, Key=key, Body=BODY,
        ChecksumAlgorithm=headers["x-amz-sdk-checksum-algorithm"], ChecksumSHA256=headers["x-amz-checksum-sha256"],
    )  # fmt: skip


def test_the_story(gateway, make_key):
    alice = make_key("publisher", owner="alice", patterns=["churn*"])
    bob = make_key("approver", owner="bob", patterns=["churn*"])
    reply = gateway.call(
        "POST", "/v1/models", token=alice,
        json_body={"name": "churn", "owner": "alice", "framework": "sklearn", "description": "churn"},
    )  # fmt: skip
    assert reply.status == 201 and reply.body["name"] == "churn" and reply.body["policy"]["require_approval"]
    reply = gateway.call(
        "POST", "/v1/models/churn/versions", token=alice,
        json_body={"bump": "minor", "sha256": SHA, "size": len(BODY), "card": CARD, "metrics": {"auc": 0.91}},
    )  # fmt: skip
    assert reply.status == 201, reply.body
    assert reply.body["version"]["version"] == "0.1.0"
    assert reply.body["upload"]["headers"]["x-amz-checksum-sha256"] == hex_to_b64(SHA)
    not_yet = gateway.call("POST", "/v1/models/churn/versions/0.1.0/submit", token=alice)
    assert (not_yet.status, not_yet.error) == (409, "ArtifactNotVerified")
    upload(reply)
    assert gateway.call("POST", "/v1/models/churn/versions/0.1.0/submit", token=alice).body["status"] == "pending_approval"
    self_approval = gateway.call("POST", "/v1/models/churn/versions/0.1.0/approve", token=alice)
    assert (self_approval.status, self_approval.error) == (403, "Forbidden")
    approved = gateway.call("POST", "/v1/models/churn/versions/0.1.0/approve", token=bob, json_body={"comment": "lgtm"})
    assert approved.status == 200 and approved.body["status"] == "approved"
    prod = gateway.call("PUT", "/v1/models/churn/aliases/production", token=bob, json_body={"version": "0.1.0"})
    assert prod.status == 200 and prod.body["version"] == "0.1.0"
    resolved = gateway.call("GET", "/v1/models/churn/versions/0.x", token=alice)
    assert resolved.status == 200 and resolved.body["version"] == "0.1.0"
    assert gateway.call("GET", "/v1/models/churn/versions/production", token=alice).body["version"] == "0.1.0"
    aliases = gateway.call("GET", "/v1/models/churn/aliases", token=alice).body["items"]
    assert [(a["alias"], a["version"]) for a in aliases] == [("production", "0.1.0")]
    verify = gateway.call("GET", "/v1/audit/verify", token=bob, query={"chain": "churn"})
    assert verify.status == 200 and verify.body["ok"] and verify.body["chains"][0]["events"] == 5
    events = gateway.call("GET", "/v1/audit", token=bob, query={"chain": "churn", "limit": "2"})
    assert [e["action"] for e in events.body["items"]] == ["alias.set", "version.approve"]
    assert events.body["cursor"]


def test_four_eyes_is_a_403_naming_the_rule(gateway, make_key):
    both = make_key("publisher", "approver", owner="carol")
    gateway.call("POST", "/v1/models", token=both, json_body={"name": "m1", "owner": "c", "framework": "onnx"})
    reply = gateway.call(
        "POST", "/v1/models/m1/versions", token=both,
        json_body={"version": "1.0.0", "sha256": SHA, "size": len(BODY), "card": CARD},
    )  # fmt: skip
    upload(reply)
    gateway.call("POST", "/v1/models/m1/versions/1.0.0/submit", token=both)
    refused = gateway.call("POST", "/v1/models/m1/versions/1.0.0/approve", token=both)
    assert (refused.status, refused.error) == (403, "FourEyesViolation")
    assert "another approver" in refused.body["error"]["message"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json_body": {"name": "Bad Name", "owner": "x", "framework": "onnx"}}, 400, "InvalidInput"),
        ({"json_body": {"name": "ok", "owner": "x", "framework": "cobol"}}, 400, "InvalidInput"),
        ({"json_body": {"name": "ok", "owner": "x", "framework": "onnx", "extra": 1}}, 400, "InvalidInput"),
        ({"raw_body": "{not json"}, 400, "InvalidInput"),
        ({"raw_body": "", "json_body": None}, 400, "InvalidInput"),
        ({"json_body": {"name": "ok"}, "headers": {"Content-Type": "text/plain"}}, 415, "UnsupportedMediaType"),
        ({"raw_body": json.dumps({"name": "ok", "owner": "x" * 300_000, "framework": "onnx"})}, 413, "PayloadTooLarge"),
    ],
)
def test_bad_input_is_a_clear_4xx(gateway, make_key, kwargs, status, code):
    token = make_key("publisher")
    reply = gateway.call("POST", "/v1/models", token=token, **kwargs)
    assert (reply.status, reply.error) == (status, code), reply.body
    assert reply.body["error"]["message"]


def test_validation_errors_name_the_fields(gateway, make_key):
    token = make_key("publisher")
    reply = gateway.call("POST", "/v1/models", token=token, json_body={"name": "Bad Name", "framework": "onnx"})
    paths = {f["path"] for f in reply.body["error"]["fields"]}
    assert paths == {"body.model.name", "body.model.owner"} or paths == {"body.name", "body.owner"}, paths
    bad_limit = gateway.call("GET", "/v1/models", token=token, query={"limit": "1000"})
    assert bad_limit.status == 400 and bad_limit.body["error"]["fields"][0]["path"] == "query.limit"
    bad_cursor = gateway.call("GET", "/v1/models", token=token, query={"cursor": "garbage"})
    assert (bad_cursor.status, bad_cursor.body["error"]["fields"][0]["path"]) == (400, "cursor")
    bad_spec = gateway.call("GET", "/v1/models/churn/versions/1.2", token=token)
    assert (bad_spec.status, bad_spec.error) == (400, "InvalidInput")
    bad_version = gateway.call("POST", "/v1/models/churn/versions/1.x/submit", token=token)
    assert bad_version.status == 400 and bad_version.body["error"]["fields"][0]["path"] == "path.spec"


def test_auth_failures(gateway, make_key, admin_token):
    assert gateway.call("GET", "/v1/models").status == 401
    assert gateway.call("GET", "/v1/models", token="mp_0123456789abcdef_" + "x" * 43).status == 401
    consumer = make_key("consumer")
    assert gateway.call("GET", "/v1/models", token=consumer).status == 200
    key_id = consumer.split("_")[1]
    revoked = gateway.call("DELETE", f"/v1/keys/{key_id}", token=admin_token)
    assert revoked.status == 200 and revoked.body["revoked_at"]
    assert gateway.call("GET", "/v1/models", token=consumer).status == 401
    again = gateway.call("DELETE", f"/v1/keys/{key_id}", token=admin_token)
    assert (again.status, again.error) == (409, "InvalidTransition")
    assert gateway.call("DELETE", "/v1/keys/ffffffffffffffff", token=admin_token).status == 404
    assert gateway.call("GET", "/v1/models/nope", token=admin_token).error == "ModelNotFound"


def test_keys_never_expose_secrets_or_hashes(gateway, admin_token, capsys):
    reply = gateway.call("POST", "/v1/keys", token=admin_token, json_body={"owner": "z", "roles": ["consumer"]})
    token = reply.body["token"]
    secret = token.split("_", 2)[2]
    listed = gateway.call("GET", "/v1/keys", token=admin_token)
    events = gateway.call("GET", "/v1/audit", token=admin_token, query={"chain": "platform"})
    from functions.core.apikeys import hash_secret

    digest = hash_secret(token.split("_")[1], secret)
    outputs = json.dumps([listed.body, events.body, reply.body["key"]]) + capsys.readouterr().out
    assert secret not in outputs and digest not in outputs
    assert all("secret_hash" not in k for k in listed.body["items"])


def test_idempotency_key(gateway, make_key, admin_token):
    token = make_key("publisher")
    gateway.call("POST", "/v1/models", token=token, json_body={"name": "idem", "owner": "x", "framework": "onnx"})
    body = {"bump": "patch", "sha256": SHA, "size": 3}
    first = gateway.call("POST", "/v1/models/idem/versions", token=token, json_body=body, headers={"Idempotency-Key": "k-1"})
    again = gateway.call("POST", "/v1/models/idem/versions", token=token, json_body=body, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 201
    assert first.body["version"] == again.body["version"] and again.body["version"]["version"] == "0.0.1"
    other = gateway.call(
        "POST", "/v1/models/idem/versions", token=token, json_body={**body, "size": 4}, headers={"Idempotency-Key": "k-1"}
    )
    assert (other.status, other.error) == (409, "IdempotencyConflict")
    fresh = gateway.call("POST", "/v1/models/idem/versions", token=token, json_body=body, headers={"Idempotency-Key": "k-2"})
    assert fresh.body["version"]["version"] == "0.0.2"
    listed = gateway.call("GET", "/v1/models/idem/versions", token=token)
    assert [v["version"] for v in listed.body["items"]] == ["0.0.2", "0.0.1"]
    # a replayed key creation does not show the token again
    kbody = {"owner": "y", "roles": ["consumer"]}
    k1 = gateway.call("POST", "/v1/keys", token=admin_token, json_body=kbody, headers={"Idempotency-Key": "key-1"})
    k2 = gateway.call("POST", "/v1/keys", token=admin_token, json_body=kbody, headers={"Idempotency-Key": "key-1"})
    assert k1.body["token"] and k2.body["token"] is None and k1.body["key"] == k2.body["key"]


def test_listing_pages(gateway, make_key):
    token = make_key("publisher")
    for name in ["a-1", "b-2", "c-3"]:
        gateway.call("POST", "/v1/models", token=token, json_body={"name": name, "owner": "x", "framework": "onnx"})
    page = gateway.call("GET", "/v1/models", token=token, query={"limit": "2"})
    assert [m["name"] for m in page.body["items"]] == ["a-1", "b-2"]
    rest = gateway.call("GET", "/v1/models", token=token, query={"limit": "2", "cursor": page.body["cursor"]})
    assert [m["name"] for m in rest.body["items"]] == ["c-3"] and rest.body["cursor"] is None


def test_inference_routing_through_the_authorizer(gateway, make_key, admin_token):
    from functions.adapters import wiring
    from functions.core.governance import set_alias
    from functions.core.models import system_actor
    from functions.core.ports import Context

    publisher = make_key("publisher")
    consumer = make_key("consumer", patterns=["churn"])
    stranger = make_key("consumer", patterns=["fraud*"])
    gateway.call("POST", "/v1/models", token=publisher, json_body={"name": "churn", "owner": "x", "framework": "onnx"})
    missing = gateway.call("POST", "/v1/models/ghost/invocations", token=consumer)
    assert missing.status == 403 and missing.error == "Forbidden"  # the pattern is checked first
    undeployed = gateway.call("POST", "/v1/models/churn/invocations", token=consumer)
    assert (undeployed.status, undeployed.error) == (403, "NotDeployed")
    assert "production" in undeployed.body["error"]["message"]
    gateway.call("POST", "/v1/models/churn/versions", token=publisher, json_body={"version": "1.0.0", "sha256": SHA, "size": 3})
    no_version = gateway.call("POST", "/v1/models/churn/versions/2.x/invocations", token=consumer)
    assert (no_version.error, "2.x" in no_version.body["error"]["message"]) == ("VersionNotFound", True)
    assert gateway.call("POST", "/v2/models/churn/versions/1.x/infer", token=consumer).error == "NotDeployed"
    system = Context(actor=system_actor("deploy"), request_id="t")
    set_alias(wiring.deps(), system, "churn", "staging", "1.0.0", endpoint="mp-test-churn-staging")
    routed = gateway.call("POST", "/v1/models/churn/versions/1.x/invocations", token=consumer)
    assert routed.body["routed_to"]["endpoint"] == "mp-test-churn-staging"
    assert routed.body["routed_to"]["version"] == "1.0.0" and routed.body["routed_to"]["model"] == "churn"
    assert gateway.call("POST", "/v2/models/churn/versions/staging/infer", token=consumer).status == 200
    assert gateway.call("POST", "/v1/models/churn/invocations", token=stranger).error == "Forbidden"
