"""Every route × every role × a matching and a non-matching model pattern, and the rules
of issue 10 in the same grid: key creation within the creator's scope (admin keys are
platform-wide), policy changes by role, and approval before code."""

import importlib

import pytest

from functions.routes import FUNCTIONS, ROUTES
from tests.functional.test_deployments_api import _code_model, workflow_env  # noqa: F401 - workflow_env: a fixture

ALL = {"admin", "publisher", "approver", "consumer"}
#: key management and the platform chain: an admin key without patterns only (issue 10)
UNRESTRICTED = "unrestricted"
# Who may call what (written independently of functions/core/access.py). `scoped` routes
# name a model and also need a matching pattern; `UNRESTRICTED` routes need the `*` pattern.
# Admin keys take no patterns: the admin's "non-matching" key is one made before that rule
# (written to the store directly), which may still read but no longer manage keys.
EXPECTED = {
    ("POST", "/v1/models"): ({"admin", "publisher"}, True),
    ("GET", "/v1/models"): (ALL, False),
    ("GET", "/v1/models/{name}"): (ALL, True),
    # a description is the publishers' (approvers change the policy only)
    ("PATCH", "/v1/models/{name}"): ({"admin", "publisher"}, True),
    ("POST", "/v1/models/{name}/retire"): ({"admin", "publisher"}, True),
    ("GET", "/v1/models/{name}/changes"): (ALL, True),
    ("GET", "/v1/models/{name}/changes/{change_id}"): (ALL, True),
    ("POST", "/v1/models/{name}/changes/{change_id}/confirm"): ({"admin", "approver"}, True),
    ("POST", "/v1/models/{name}/changes/{change_id}/reject"): ({"admin", "publisher", "approver"}, True),
    ("POST", "/v1/models/{name}/versions"): ({"admin", "publisher"}, True),
    ("GET", "/v1/models/{name}/versions"): (ALL, True),
    ("GET", "/v1/models/{name}/versions/{spec}"): (ALL, True),
    ("POST", "/v1/models/{name}/versions/{spec}/submit"): ({"admin", "publisher"}, True),
    ("POST", "/v1/models/{name}/versions/{spec}/approve"): ({"admin", "approver"}, True),
    ("POST", "/v1/models/{name}/versions/{spec}/reject"): ({"admin", "approver"}, True),
    ("POST", "/v1/models/{name}/versions/{spec}/archive"): ({"admin", "publisher", "approver"}, True),
    ("POST", "/v1/models/{name}/versions/{spec}/revalidate"): ({"admin", "approver"}, True),
    ("PUT", "/v1/models/{name}/aliases/{alias}"): ({"admin", "publisher", "approver"}, True),
    ("GET", "/v1/models/{name}/aliases"): (ALL, True),
    ("GET", "/v1/models/{name}/aliases/{alias}/history"): (ALL, True),
    ("POST", "/v1/keys"): ({"admin"}, UNRESTRICTED),
    ("GET", "/v1/keys"): ({"admin"}, UNRESTRICTED),
    ("DELETE", "/v1/keys/{key_id}"): ({"admin"}, UNRESTRICTED),
    ("POST", "/v1/keys/{key_id}/rotate"): ({"admin"}, UNRESTRICTED),
    ("GET", "/v1/whoami"): (ALL, False),
    ("GET", "/v1/audit"): ({"admin", "approver"}, True),
    ("GET", "/v1/audit/verify"): ({"admin", "approver"}, True),
    ("GET", "/v1/models/{name}/versions/{spec}/evidence"): ({"admin", "approver"}, True),
    ("POST", "/v1/models/{name}/invocations"): (ALL, True),
    ("POST", "/v1/models/{name}/versions/{spec}/invocations"): (ALL, True),
    ("POST", "/v2/models/{name}/infer"): (ALL, True),
    ("POST", "/v2/models/{name}/versions/{spec}/infer"): (ALL, True),
}
PARAMS = {"name": "churn", "spec": "1.0.0", "alias": "staging", "key_id": "ffffffffffffffff",
          "change_id": "20250101-000000-abcdef"}
BODIES = {
    ("POST", "/v1/models"): {"name": "churn", "owner": "x", "framework": "onnx"},
    ("POST", "/v1/models/{name}/versions"): {"bump": "patch", "sha256": "ab" * 32, "size": 1},
    ("PUT", "/v1/models/{name}/aliases/{alias}"): {"version": "1.0.0"},
    ("POST", "/v1/keys"): {"owner": "x", "roles": ["consumer"]},
    ("PATCH", "/v1/models/{name}"): {"description": "changed"},
    ("POST", "/v1/keys/{key_id}/rotate"): {"grace_period_hours": 1},
}
HEADERS = {("PATCH", "/v1/models/{name}"): {"If-Match": "*"}}
QUERIES = {("GET", "/v1/audit"): {"chain": "churn"}, ("GET", "/v1/audit/verify"): {"chain": "churn"}}


def ours(route) -> bool:
    return route.function in (None, "registry", "versioning", "keys", "audit")


def test_every_control_plane_route_is_in_the_matrix():
    assert {(r.method, r.path) for r in ROUTES if ours(r)} == set(EXPECTED)


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f in ("registry", "versioning", "keys", "audit")])
def test_handlers_serve_exactly_their_rows_of_the_route_table(function):
    app = importlib.import_module(f"functions.{function}.handler").app
    served = {(r.method, r.openapi_path) for r in app._static_routes + app._dynamic_routes}
    assert served == {(r.method, r.path) for r in ROUTES if r.function == function}


def legacy_admin_key(patterns: list[str]) -> str:
    """An admin key with model patterns, as keys could be made before admin keys took none."""
    from functions.adapters import wiring
    from functions.core.apikeys import _create_key
    from functions.core.models import NewKey, system_actor
    from functions.core.ports import Context

    deps = wiring.deps()
    creator = Context(actor=system_actor("tests"), request_id="legacy")
    new = NewKey.model_construct(owner="legacy-admin", roles=["admin"], patterns=patterns, description="",
                                 expires_in_days=None)
    return _create_key(deps, creator, new).token


@pytest.fixture
def world(gateway, make_key, admin_token):
    """A model with one version, and a key per role × pattern."""
    tokens = {(role, match): make_key(role, owner=f"{role}-{match}", patterns=["churn*" if match else "fraud*"])
              for role in sorted(ALL - {"admin"}) for match in (True, False)}  # fmt: skip
    tokens[("admin", True)] = make_key("admin", owner="admin-True")
    tokens[("admin", False)] = legacy_admin_key(["fraud*"])
    gateway.call("POST", "/v1/models", token=admin_token, json_body=BODIES[("POST", "/v1/models")])
    gateway.call("POST", "/v1/models/churn/versions", token=admin_token, json_body={"version": "1.0.0", "sha256": "ab" * 32, "size": 1})
    return tokens


def test_authorization_matrix(gateway, world):
    seen = []
    for route in [r for r in ROUTES if ours(r)]:
        allowed, scoped = EXPECTED[(route.method, route.path)]
        path = route.path.format(**PARAMS)
        for (role, match), token in world.items():
            reply = gateway.call(
                route.method, path, token=token,
                json_body=BODIES.get((route.method, route.path)), query=QUERIES.get((route.method, route.path)),
                headers=HEADERS.get((route.method, route.path)),
            )  # fmt: skip
            may = role in allowed and (match or not scoped)
            refused = reply.status == 403 and reply.error == "Forbidden"
            assert reply.status != 401, (route, role)
            assert refused == (not may), (route.method, route.path, role, match, reply.status, reply.body)
            seen.append((route.path, role, match))
    assert len(seen) == len(EXPECTED) * 8


def test_key_creation_stays_within_the_creators_scope(gateway, world):
    unrestricted, legacy = world[("admin", True)], world[("admin", False)]
    narrow_admin = gateway.call("POST", "/v1/keys", token=unrestricted,
                                json_body={"owner": "eve", "roles": ["admin"], "patterns": ["churn"]})
    assert (narrow_admin.status, narrow_admin.error) == (400, "InvalidInput")
    assert "admin keys take no model patterns" in narrow_admin.body["error"]["message"]
    # the repro: a pattern-limited admin key minting an unlimited one, or any key at all
    for body in ({"owner": "eve", "roles": ["admin"], "patterns": ["*"]},
                 {"owner": "eve", "roles": ["consumer"], "patterns": ["fraud*"]}):
        minted = gateway.call("POST", "/v1/keys", token=legacy, json_body=body)
        assert (minted.status, minted.error) == (403, "Forbidden"), minted.body
    chain = gateway.call("GET", "/v1/audit", token=legacy, query={"chain": "platform"})
    assert chain.status == 403
    assert gateway.call("GET", "/v1/audit", token=unrestricted, query={"chain": "platform"}).status == 200


LOOSENING = [{"allow_pickle": True}, {"allow_code": True}, {"require_approval": False},
             {"on_retrain": "deploy_staging"}]


@pytest.mark.parametrize("policy", LOOSENING)
def test_loosened_policies_at_creation_by_role(gateway, world, policy):
    """Only an admin creates a model whose policy is loosened; a publisher (who may create
    models) is refused naming the field, whatever other roles its key has."""
    for (role, match), token in world.items():
        if not match:
            continue
        name = f"churn-lax-{role}-{next(iter(policy)).replace('_', '-')}"
        reply = gateway.call("POST", "/v1/models", token=token,
                             json_body={"name": name, "owner": "x", "framework": "sklearn", "policy": policy})
        if role == "admin":
            assert reply.status == 201, reply.body
        elif role == "publisher":
            assert (reply.status, reply.error) == (403, "PolicyLooseningForbidden"), reply.body
            assert f"policy.{next(iter(policy))}" in reply.body["error"]["message"]
        else:
            assert (reply.status, reply.error) == (403, "Forbidden")  # may not create models at all


#: PATCH /v1/models/{name}, by kind of change: the patch, who may make it, and its answer then
#: (a loosening is filed as a pending change for a second person: 202).
POLICY_CHANGES = {
    "description": (lambda i: {"description": f"changed {i}"}, {"admin", "publisher"}, 200),
    "tightening": (lambda i: {"policy": {"min_improvement": 0.001 * (i + 1)}}, {"admin", "publisher", "approver"}, 200),
    "trust flag": (lambda i: {"policy": {"allow_code": True}}, {"admin", "approver"}, 202),
    "loosening": (lambda i: {"policy": {"on_retrain": "deploy_staging"}}, {"admin", "approver"}, 202),
}


@pytest.mark.parametrize("kind", list(POLICY_CHANGES))
def test_policy_changes_by_role_and_pattern(gateway, world, kind):
    """Who may change a model's settings, and how: publishers its description and tightenings,
    approvers its policy only; loosening (a trust flag or otherwise) needs an approver or an
    admin and then waits for a second person; a key whose patterns miss the model, nothing."""
    patch, allowed, answer = POLICY_CHANGES[kind]
    for i, ((role, match), token) in enumerate(sorted(world.items())):
        reply = gateway.call("PATCH", "/v1/models/churn", token=token, json_body=patch(i), headers={"If-Match": "*"})
        if match and role in allowed:
            assert reply.status == answer, (kind, role, reply.body)
        elif match and role == "publisher" and kind == "loosening":
            assert (reply.status, reply.error) == (403, "PolicyLooseningForbidden"), reply.body
            assert "policy.on_retrain" in reply.body["error"]["message"]
        else:
            assert (reply.status, reply.error) == (403, "Forbidden"), (kind, role, match, reply.body)
    model = gateway.call("GET", "/v1/models/churn", token=world[("admin", True)]).body
    assert model["policy"]["allow_code"] is False and model["policy"]["on_retrain"] != "deploy_staging"  # pending only


@pytest.mark.usefixtures("workflow_env")
def test_approval_before_code_by_role_and_pattern(gateway, world, admin_token):
    """No key, whatever its roles, deploys an unapproved version that runs code, to any alias;
    once approved, those who may deploy (and whose patterns cover it) do."""
    _code_model(gateway, admin_token, world[("publisher", True)], "churn-code", allow_code=True)

    def deploy_all(expected_when_allowed: tuple[int, str | None]) -> None:
        for (role, match), token in sorted(world.items()):
            reply = gateway.call("POST", "/v1/models/churn-code/deployments", token=token,
                                 json_body={"version": "1.0.0", "alias": f"dev-{role}-{int(match)}"})
            may = match and role in {"admin", "publisher", "approver"}
            expected = expected_when_allowed if may else (403, "Forbidden")
            assert (reply.status, reply.error if expected[1] else None) == expected, (role, match, reply.body)

    deploy_all((409, "ApprovalRequired"))
    gateway.call("POST", "/v1/models/churn-code/versions/1.0.0/submit", token=world[("publisher", True)])
    approved = gateway.call("POST", "/v1/models/churn-code/versions/1.0.0/approve", token=world[("approver", True)])
    assert approved.status == 200, approved.body
    deploy_all((202, None))
