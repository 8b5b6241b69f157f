"""Editing, deleting or reordering stored audit events makes verify fail at the first bad one."""

import boto3
import pytest

from tests.conftest import AUDIT_TABLE


@pytest.fixture
def chain(gateway, make_key):
    """A model chain of 6 events, made through the API; returns (admin token, items by seq)."""
    publisher = make_key("publisher")
    auditor = make_key("approver")
    gateway.call("POST", "/v1/models", token=publisher, json_body={"name": "churn", "owner": "x", "framework": "onnx"})
    for _ in range(5):
        gateway.call("POST", "/v1/models/churn/versions", token=publisher, json_body={"bump": "patch", "sha256": "ab" * 32, "size": 1})
    assert gateway.call("GET", "/v1/audit/verify", token=auditor, query={"chain": "churn"}).body["ok"]
    return auditor


def items():
    db = boto3.client("dynamodb")
    found = db.query(
        TableName=AUDIT_TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "CHAIN#churn"}}
    )["Items"]
    return db, {int(i["SK"]["S"]): i for i in found}


def verify(gateway, token):
    reply = gateway.call("GET", "/v1/audit/verify", token=token, query={"chain": "churn"})
    assert reply.status == 200
    return reply.body["chains"][0]


@pytest.mark.parametrize(("field", "seq"), [("actor", 1), ("action", 3), ("details", 6), ("time", 4), ("target", 2)])
def test_edit(gateway, chain, seq, field):
    db, by_seq = items()
    item = dict(by_seq[seq])
    item[field] = {"S": item[field]["S"].replace("0", "1", 1) + " "}
    db.put_item(TableName=AUDIT_TABLE, Item=item)
    result = verify(gateway, chain)
    assert (result["ok"], result["first_bad_seq"]) == (False, seq), result
    assert f"event {seq}" in result["reason"]


@pytest.mark.parametrize("seq", [1, 4, 6])
def test_delete(gateway, chain, seq):
    db, by_seq = items()
    db.delete_item(TableName=AUDIT_TABLE, Key={"PK": by_seq[seq]["PK"], "SK": by_seq[seq]["SK"]})
    result = verify(gateway, chain)
    assert (result["ok"], result["first_bad_seq"]) == (False, seq), result
    assert "missing" in result["reason"]


@pytest.mark.parametrize("seq", [1, 5])
def test_reorder(gateway, chain, seq):
    db, by_seq = items()
    a, b = dict(by_seq[seq]), dict(by_seq[seq + 1])
    a["SK"], b["SK"] = b["SK"], a["SK"]
    db.put_item(TableName=AUDIT_TABLE, Item=a)
    db.put_item(TableName=AUDIT_TABLE, Item=b)
    result = verify(gateway, chain)
    assert (result["ok"], result["first_bad_seq"]) == (False, seq), result


def test_verify_all_reports_the_bad_chain(gateway, chain, admin_token):
    db, by_seq = items()
    db.delete_item(TableName=AUDIT_TABLE, Key={"PK": by_seq[2]["PK"], "SK": by_seq[2]["SK"]})
    reply = gateway.call("GET", "/v1/audit/verify", token=admin_token)
    assert reply.body["ok"] is False
    by_chain = {c["chain"]: c for c in reply.body["chains"]}
    assert by_chain["platform"]["ok"] and by_chain["churn"]["first_bad_seq"] == 2
