import pytest

from functions.core.models import NewModel, Principal, Role
from functions.core.ports import Context
from tests.unit.fakes import make_deps


def ctx_for(*roles: str, id: str = "k-admin", owner: str | None = None, patterns=("*",)) -> Context:
    actor = Principal(id=id, owner=owner or id, roles=frozenset(Role(r) for r in roles), patterns=tuple(patterns))
    return Context(actor=actor, request_id=f"req-{id}")


@pytest.fixture
def deps():
    return make_deps()


@pytest.fixture
def admin():
    return ctx_for("admin", id="admin0000000000a", owner="root")


@pytest.fixture
def publisher():
    return ctx_for("publisher", id="pub0000000000000", owner="alice")


@pytest.fixture
def approver():
    return ctx_for("approver", id="appr000000000000", owner="bob")


@pytest.fixture
def churn(deps, publisher):
    from functions.core.registry import create_model

    return create_model(deps, publisher, NewModel(name="churn", owner="alice", framework="sklearn"))
