"""`GET /v1/models/{name}/aliases/{alias}/history[?at=]` through the gateway, on moto."""

from datetime import datetime, timedelta

import boto3

from tests.functional.test_api import BODY, SHA


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_history_and_what_served_at_a_time(gateway, make_key, admin_token):
    alice = make_key("publisher", owner="alice", patterns=["hist*"])
    gateway.call("POST", "/v1/models", token=admin_token, json_body={
        "name": "hist", "owner": "alice", "framework": "onnx", "policy": {"require_approval": False}})
    for v in ("1.0.0", "1.1.0"):
        reply = gateway.call("POST", "/v1/models/hist/versions", token=alice,
                             json_body={"version": v, "sha256": SHA, "size": len(BODY)})
        assert reply.status == 201, reply.body
    before_any = datetime.now().astimezone()
    for v in ("1.0.0", "1.1.0", "1.0.0"):
        moved = gateway.call("PUT", "/v1/models/hist/aliases/production", token=alice, json_body={"version": v})
        assert moved.status == 200 and moved.body["period"]["version"] == v, moved.body

    listed = gateway.call("GET", "/v1/models/hist/aliases/production/history", token=alice, query={"limit": "2"})
    assert listed.status == 200 and listed.body["cursor"], listed.body
    rest = gateway.call("GET", "/v1/models/hist/aliases/production/history", token=alice,
                        query={"cursor": listed.body["cursor"]})
    periods = listed.body["items"] + rest.body["items"]
    assert [p["version"] for p in periods] == ["1.0.0", "1.1.0", "1.0.0"] and rest.body["cursor"] is None
    assert periods[0]["end"] is None and periods[1]["end"] == periods[0]["start"]
    assert all(p["moved_by"].endswith("(alice)") and p["deployment_id"] is None for p in periods)

    def at(moment: str) -> list:
        reply = gateway.call("GET", "/v1/models/hist/aliases/production/history", token=alice, query={"at": moment})
        assert reply.status == 200, reply.body
        assert reply.body["cursor"] is None
        return [p["version"] for p in reply.body["items"]]

    middle = periods[1]
    assert at(middle["start"]) == ["1.1.0"]
    assert at(middle["end"]) == ["1.0.0"]
    end = datetime.fromisoformat(middle["end"])
    assert at(iso(end - timedelta(microseconds=1))) == ["1.1.0"]
    assert at(iso(before_any - timedelta(seconds=1))) == []  # before the first move
    # the same instant written with another offset
    assert at((end - timedelta(microseconds=1)).astimezone(_tz(-7)).isoformat()) == ["1.1.0"]


def _tz(hours):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_history_refuses_bad_input_with_a_named_field(gateway, make_key):
    alice = make_key("publisher", owner="alice", patterns=["*"])
    gateway.call("POST", "/v1/models", token=alice, json_body={"name": "h2", "owner": "a", "framework": "onnx"})
    path = "/v1/models/h2/aliases/production/history"
    for bad in ("yesterday", "2025-13-01T00:00:00Z"):
        reply = gateway.call("GET", path, token=alice, query={"at": bad})
        assert (reply.status, reply.error) == (400, "InvalidInput"), reply.body
        assert reply.body["error"]["fields"][0]["path"] == "query.at"
    naive = gateway.call("GET", path, token=alice, query={"at": "2025-01-01T00:00:00"})
    assert (naive.status, naive.error) == (400, "InvalidInput") and "UTC offset" in naive.body["error"]["message"]
    assert gateway.call("GET", path, token=alice).error == "AliasNotFound"
    assert gateway.call("GET", "/v1/models/nope/aliases/production/history", token=alice).error == "ModelNotFound"
    bad_cursor = gateway.call("GET", path, token=alice, query={"cursor": "eyJQSyI6Ik1PREVMI2gyIn0"})
    assert (bad_cursor.status, bad_cursor.error) == (400, "InvalidInput")


def test_history_rows_are_in_the_model_partition(gateway, make_key, admin_token):
    """The key design: `HIST#<alias>#<UTC start>#<seq>` under `MODEL#<name>`."""
    alice = make_key("publisher", owner="alice", patterns=["*"])
    gateway.call("POST", "/v1/models", token=admin_token, json_body={
        "name": "h3", "owner": "a", "framework": "onnx", "policy": {"require_approval": False}})
    gateway.call("POST", "/v1/models/h3/versions", token=alice, json_body={"version": "1.0.0", "sha256": SHA, "size": 1})
    gateway.call("PUT", "/v1/models/h3/aliases/staging", token=alice, json_body={"version": "1.0.0"})
    from tests.conftest import TABLE

    items = boto3.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="PK = :pk AND begins_with(SK, :h)",
        ExpressionAttributeValues={":pk": {"S": "MODEL#h3"}, ":h": {"S": "HIST#"}},
    )["Items"]
    assert len(items) == 1
    sk = items[0]["SK"]["S"]
    prefix, alias, start, seq = sk.split("#")
    assert (prefix, alias, len(start), start[-1], len(seq)) == ("HIST", "staging", 27, "Z", 12)
