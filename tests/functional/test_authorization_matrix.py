"""Every route × every role × a matching and a non-matching model pattern."""

import importlib

import pytest

from functions.routes import FUNCTIONS, ROUTES

ALL = {"admin", "publisher", "approver", "consumer"}
# Who may call what (written independently of functions/core/access.py). `scoped` routes
# name a model and also need a matching pattern.
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
    ("POST", "/v1/keys"): ({"admin"}, False),
    ("GET", "/v1/keys"): ({"admin"}, False),
    ("DELETE", "/v1/keys/{key_id}"): ({"admin"}, False),
    ("POST", "/v1/keys/{key_id}/rotate"): ({"admin"}, False),
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


@pytest.fixture
def world(gateway, make_key, admin_token):
    """A model with one version, and a key per role × pattern."""
    tokens = {(role, match): make_key(role, owner=f"{role}-{match}", patterns=["churn*" if match else "fraud*"])
              for role in sorted(ALL) for match in (True, False)}  # fmt: skip
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
