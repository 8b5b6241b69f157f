"""`GET /v1/whoami`: the calling key and what its roles allow (the console hides the rest)."""

from functions.core import access


def _allowed(body):
    return {p["action"] for p in body["permissions"] if p["allowed"]}


def test_whoami_names_the_key_and_what_its_roles_may_do(gateway, make_key):
    token = make_key("publisher", owner="alice", patterns=["churn*"])
    reply = gateway.call("GET", "/v1/whoami", token=token)
    assert reply.status == 200, reply.body
    key = reply.body["key"]
    assert key["key_id"] == token.split("_")[1]
    assert (key["owner"], key["roles"], key["patterns"]) == ("alice", ["publisher"], ["churn*"])
    assert "secret_hash" not in key and token.split("_", 2)[2] not in str(reply.body)
    assert _allowed(reply.body) == {"read", "invoke", "publish", "archive", "move_alias", "deploy", "monitor"}
    decide = next(p for p in reply.body["permissions"] if p["action"] == "decide")
    assert decide == {"action": "decide", "allowed": False, "roles": ["admin", "approver"]}


def test_every_action_is_listed_for_every_role(gateway, make_key):
    for role in ("admin", "approver", "consumer"):
        body = gateway.call("GET", "/v1/whoami", token=make_key(role)).body
        assert [p["action"] for p in body["permissions"]] == list(access.ACTIONS)
        expected = {action for action, roles in access.ACTIONS.items() if role in {r.value for r in roles}}
        assert _allowed(body) == expected, role
    assert _allowed(gateway.call("GET", "/v1/whoami", token=make_key("consumer")).body) == {"read", "invoke"}


def test_whoami_needs_a_valid_key(gateway, make_key, admin_token):
    assert gateway.call("GET", "/v1/whoami").status == 401
    token = make_key("approver")
    gateway.call("DELETE", f"/v1/keys/{token.split('_')[1]}", token=admin_token)
    assert gateway.call("GET", "/v1/whoami", token=token).status == 401
