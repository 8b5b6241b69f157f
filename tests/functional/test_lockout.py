"""The API refuses to revoke the last active admin key (409, saying why), issue 11."""


def test_revoking_the_last_admin_key_is_a_409_and_the_key_keeps_working(gateway, admin_token):
    key_id = admin_token.split("_")[1]
    refused = gateway.call("DELETE", f"/v1/keys/{key_id}", token=admin_token)
    assert (refused.status, refused.error) == (409, "LastAdminKey")
    assert "last active admin key" in refused.body["error"]["message"]
    assert gateway.call("GET", "/v1/keys", token=admin_token).status == 200
    actions = [e["action"] for e in gateway.call("GET", "/v1/audit", token=admin_token,
                                                 query={"chain": "platform"}).body["items"]]
    assert "key.create" in actions and "key.revoke" not in actions


def test_once_another_admin_key_exists_the_first_may_go(gateway, admin_token):
    created = gateway.call("POST", "/v1/keys", token=admin_token, json_body={"owner": "ops", "roles": ["admin"]})
    assert created.status == 201
    second = created.body["token"]
    first_id = admin_token.split("_")[1]
    assert gateway.call("DELETE", f"/v1/keys/{first_id}", token=second).status == 200
    last = gateway.call("DELETE", f"/v1/keys/{created.body['key']['key_id']}", token=second)
    assert (last.status, last.error) == (409, "LastAdminKey")
