import pytest

from tests.functional.gateway import Gateway


@pytest.fixture
def gateway(control_plane_env):
    return Gateway()


@pytest.fixture
def admin_token(control_plane_env):
    from functions.adapters import wiring
    from functions.core.apikeys import bootstrap_admin_key

    return bootstrap_admin_key(wiring.deps(), owner="root").token


@pytest.fixture
def make_key(gateway, admin_token):
    """Create a key through the API: make_key("publisher", owner="alice", patterns=["churn*"])."""

    def make(*roles: str, owner: str = "someone", patterns: list[str] | None = None) -> str:
        reply = gateway.call(
            "POST", "/v1/keys", token=admin_token,
            json_body={"owner": owner, "roles": list(roles), "patterns": patterns or ["*"]},
        )  # fmt: skip
        assert reply.status == 201, reply.body
        return reply.body["token"]

    return make
