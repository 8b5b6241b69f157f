"""A model's lifecycle over HTTP: PATCH (merge patch, ETag/If-Match, 412/428, 202), retire."""

from tests.functional.test_api import BODY, SHA


def model(gateway, token, name="life", **extra):
    reply = gateway.call("POST", "/v1/models", token=token,
                         json_body={"name": name, "owner": "alice", "framework": "onnx", **extra})
    assert reply.status == 201, reply.body
    return reply.body


def test_patch_with_etags(gateway, make_key):
    alice = make_key("publisher", owner="alice")
    model(gateway, alice)
    got = gateway.call("GET", "/v1/models/life", token=alice)
    assert got.headers["ETag"] == '"1"' and got.body["revision"] == 1
    merge = {"Content-Type": "application/merge-patch+json"}
    missing = gateway.call("PATCH", "/v1/models/life", token=alice, json_body={"description": "x"}, headers=merge)
    assert (missing.status, missing.error) == (428, "PreconditionRequired")
    patched = gateway.call("PATCH", "/v1/models/life", token=alice, headers={**merge, "If-Match": got.headers["ETag"]},
                           json_body={"description": "who leaves", "training": {"hyperparameters": {"target": "y"}}})
    assert patched.status == 200 and patched.headers["ETag"] == '"2"', patched.body
    assert (patched.body["description"], patched.body["training"]["hyperparameters"]) == ("who leaves", {"target": "y"})
    stale = gateway.call("PATCH", "/v1/models/life", token=alice, headers={**merge, "If-Match": '"1"'},
                         json_body={"description": "lost update"})
    assert (stale.status, stale.error) == (412, "PreconditionFailed") and "revision 2" in stale.body["error"]["message"]
    # plain JSON is accepted too; anything else is 415
    plain = gateway.call("PATCH", "/v1/models/life", token=alice, headers={"If-Match": '"2"'},
                         json_body={"training": {"hyperparameters": {"target": None}}})
    assert plain.status == 200 and plain.body["training"]["hyperparameters"] == {}
    text = gateway.call("PATCH", "/v1/models/life", token=alice, headers={"If-Match": '"3"', "Content-Type": "text/plain"},
                        raw_body='{"description": "x"}')
    assert (text.status, text.error) == (415, "UnsupportedMediaType")
    broken = gateway.call("PATCH", "/v1/models/life", token=alice, headers={"If-Match": '"3"'}, raw_body="{not json")
    assert (broken.status, broken.error) == (400, "InvalidInput")
    fixed = gateway.call("PATCH", "/v1/models/life", token=alice, headers={"If-Match": '"3"'},
                         json_body={"framework": "sklearn", "policy": {"metric_direction": "up"}})
    assert fixed.status == 400 and [f["path"] for f in fixed.body["error"]["fields"]] == ["body.framework"]
    bad = gateway.call("PATCH", "/v1/models/life", token=alice, headers={"If-Match": '"3"'},
                       json_body={"policy": {"metric_direction": "up"}})
    assert bad.status == 400 and bad.body["error"]["fields"][0]["path"] == "body.policy.metric_direction"
    events = gateway.call("GET", "/v1/audit", token=make_key("approver", owner="aud"), query={"chain": "life"})
    assert [e["action"] for e in events.body["items"]][:2] == ["model.update", "model.update"]


def test_a_loosening_waits_for_a_second_person(gateway, make_key):
    alice = make_key("publisher", owner="alice")
    carol = make_key("approver", owner="carol")
    dave = make_key("approver", owner="dave")
    model(gateway, alice, name="loose")
    refused = gateway.call("PATCH", "/v1/models/loose", token=alice, headers={"If-Match": '"1"'},
                           json_body={"policy": {"allow_pickle": True}})
    assert (refused.status, refused.error) == (403, "Forbidden")
    asked = gateway.call("PATCH", "/v1/models/loose", token=carol, headers={"If-Match": '"1"'},
                         json_body={"policy": {"allow_pickle": True}})
    assert asked.status == 202 and asked.body["status"] == "pending", asked.body
    change_id = asked.body["id"]
    assert asked.headers["Location"] == f"/v1/models/loose/changes/{change_id}"
    assert gateway.call("GET", "/v1/models/loose", token=alice).body["policy"]["allow_pickle"] is False
    own = gateway.call("POST", f"/v1/models/loose/changes/{change_id}/confirm", token=carol)
    assert (own.status, own.error) == (403, "FourEyesViolation")
    done = gateway.call("POST", f"/v1/models/loose/changes/{change_id}/confirm", token=dave,
                        json_body={"comment": "legacy models"})
    assert done.status == 200 and done.body["status"] == "applied" and done.headers["ETag"] == '"2"'
    assert gateway.call("GET", "/v1/models/loose", token=alice).body["policy"]["allow_pickle"] is True
    listed = gateway.call("GET", "/v1/models/loose/changes", token=alice)
    assert [(c["id"], c["decided_by"]) for c in listed.body["items"]] == [(change_id, done.body["decided_by"])]
    again = gateway.call("POST", f"/v1/models/loose/changes/{change_id}/reject", token=dave)
    assert (again.status, again.error) == (409, "ChangeNotPending")
    unknown = gateway.call("GET", "/v1/models/loose/changes/20990101-000000-000000", token=alice)
    assert (unknown.status, unknown.error) == (404, "ChangeNotFound")
    assert gateway.call("GET", "/v1/models/loose/changes/nope", token=alice).status == 400


def test_retire(gateway, make_key, admin_token):
    alice = make_key("publisher", owner="alice")
    model(gateway, admin_token, name="old", policy={"require_approval": False})
    model(gateway, alice, name="new")
    gateway.call("POST", "/v1/models/old/versions", token=alice, json_body={"version": "1.0.0", "sha256": SHA,
                                                                          "size": len(BODY)})
    # the deploy workflow records an endpoint on the alias; here the core does as the workflow would
    from functions.adapters import wiring
    from functions.core import governance
    from functions.core.models import system_actor
    from functions.core.ports import Context

    governance.set_alias(wiring.deps(), Context(actor=system_actor("deploy"), request_id="t"), "old", "production",
                         "1.0.0", endpoint="mp-test-old-production")
    busy = gateway.call("POST", "/v1/models/old/retire", token=alice)
    assert (busy.status, busy.error) == (409, "ModelInUse") and "alias production" in busy.body["error"]["message"]
    gateway.call("POST", "/v1/models/old/versions", token=alice, json_body={"version": "1.1.0", "sha256": SHA,
                                                                          "size": len(BODY)})
    gateway.call("PUT", "/v1/models/old/aliases/production", token=alice, json_body={"version": "1.1.0"})
    stale = gateway.call("POST", "/v1/models/old/retire", token=alice, headers={"If-Match": '"7"'})
    assert stale.status == 412
    retired = gateway.call("POST", "/v1/models/old/retire", token=alice, json_body={"reason": "replaced by new"})
    assert retired.status == 200 and retired.body["status"] == "retired" and retired.headers["ETag"] == '"2"'
    publish = gateway.call("POST", "/v1/models/old/versions", token=alice,
                           json_body={"version": "2.0.0", "sha256": SHA, "size": len(BODY)})
    assert (publish.status, publish.error) == (409, "ModelRetired")
    listed = {s: [m["name"] for m in gateway.call("GET", "/v1/models", token=alice,
                                                  query={"status": s} if s else None).body["items"]]
              for s in (None, "retired", "all")}
    assert listed == {None: ["new"], "retired": ["old"], "all": ["new", "old"]}
    assert gateway.call("GET", "/v1/models", token=alice, query={"status": "gone"}).status == 400
    assert gateway.call("GET", "/v1/models/old/versions/1.0.0", token=alice).status == 200  # still readable
