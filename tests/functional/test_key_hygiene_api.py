"""Key hygiene over HTTP, on moto: the sampled `last_used_at` attribute, rotation, keys by owner."""

import boto3

from tests.conftest import TABLE


def _item(key_id):
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key={"PK": {"S": f"KEY#{key_id}"},
                                                                   "SK": {"S": "META"}})["Item"]


def test_last_used_at_is_one_conditional_write_an_hour_and_survives_a_revocation(gateway, make_key, admin_token):
    from functions.adapters import wiring

    token = make_key("consumer", owner="app")
    key_id = token.split("_")[1]
    writes: list[str] = []
    wiring.deps().store._db.meta.events.register(
        "before-call.dynamodb.UpdateItem", lambda model, **_: writes.append(model.name))
    for _ in range(5):
        assert gateway.call("GET", "/v1/models", token=token).status == 200
    assert writes == ["UpdateItem"]  # one sampled write for five requests
    stored = _item(key_id)["last_used_at"]["S"]
    assert len(stored) == 27 and stored.endswith("Z")
    listed = gateway.call("GET", "/v1/keys", token=admin_token, query={"owner": "app"}).body["items"]
    assert [k["key_id"] for k in listed] == [key_id] and listed[0]["last_used_at"]
    assert gateway.call("DELETE", f"/v1/keys/{key_id}", token=admin_token).status == 200
    assert _item(key_id)["last_used_at"]["S"] == stored  # the revocation's Put kept the sample


def test_rotation_over_http(gateway, make_key, admin_token):
    token = make_key("publisher", owner="ci-bot", patterns=["churn*"])
    key_id = token.split("_")[1]
    bad = gateway.call("POST", f"/v1/keys/{key_id}/rotate", token=admin_token, json_body={})
    assert (bad.status, bad.body["error"]["fields"][0]["path"]) == (400, "body.grace_period_hours")
    reply = gateway.call("POST", f"/v1/keys/{key_id}/rotate", token=admin_token, json_body={"grace_period_hours": 2},
                         headers={"Idempotency-Key": "rotate-ci-bot-1"})
    assert reply.status == 201, reply.body
    successor = reply.body["key"]
    assert (successor["owner"], successor["patterns"], successor["rotated_from"]) == ("ci-bot", ["churn*"], key_id)
    assert reply.body["token"].startswith(f"mp_{successor['key_id']}_") and "secret_hash" not in str(reply.body)
    replay = gateway.call("POST", f"/v1/keys/{key_id}/rotate", token=admin_token, json_body={"grace_period_hours": 2},
                          headers={"Idempotency-Key": "rotate-ci-bot-1"})
    assert replay.status == 201 and replay.body["key"]["key_id"] == successor["key_id"] and replay.body["token"] is None
    assert gateway.call("GET", "/v1/models", token=token).status == 200  # still inside its grace period
    assert gateway.call("GET", "/v1/models", token=reply.body["token"]).status == 200
    owners = gateway.call("GET", "/v1/keys", token=admin_token, query={"owner": "CI-Bot"}).body["items"]
    assert sorted(k["key_id"] for k in owners) == sorted([key_id, successor["key_id"]])
    assert gateway.call("POST", "/v1/keys/ffffffffffffffff/rotate", token=admin_token,
                        json_body={"grace_period_hours": 1}).error == "KeyNotFound"
