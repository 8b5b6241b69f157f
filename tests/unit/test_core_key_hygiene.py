"""Key hygiene: rotation with a grace period, sampled `last_used_at`, keys by owner."""

import json
from datetime import timedelta

import pytest

from functions.core import apikeys, rotation
from functions.core.errors import (
    Forbidden,
    InvalidTransition,
    KeyNotFound,
    LastAdminKey,
    Unauthenticated,
)
from functions.core.models import NewKey
from functions.core.rotation import Rotation
from tests.unit.conftest import ctx_for


@pytest.fixture
def root(deps):
    """The installation's only admin key (never expiring), as a context."""
    created = apikeys.bootstrap_admin_key(deps, owner="root")
    principal = apikeys.authenticate(deps, f"Bearer {created.token}")
    from functions.core.ports import Context

    return created, Context(actor=principal, request_id="req-root")


def test_rotation_issues_a_successor_and_the_old_key_expires_after_the_grace_period(deps, root):
    _, admin = root
    old = apikeys.create_key(deps, admin, NewKey(owner="svc-billing", roles=["consumer", "publisher"],
                                                 patterns=["churn*", "fraud"], description="billing job",
                                                 expires_in_days=90))
    deps.clock.advance(days=10)
    rotated = rotation.rotate_key(deps, admin, old.info.key_id, Rotation(grace_period_hours=24))
    new, previous = rotated.successor.info, rotated.previous
    assert (new.owner, new.roles, new.patterns, new.description) == (
        "svc-billing", old.info.roles, ["churn*", "fraud"], "billing job")
    assert new.expires_at == deps.clock.now + timedelta(days=90)  # the same lifetime, from now
    assert (new.rotated_from, previous.rotated_to) == (old.info.key_id, new.key_id)
    assert previous.expires_at == deps.clock.now + timedelta(hours=24)
    assert rotated.successor.token.startswith(f"mp_{new.key_id}_") and rotated.successor.token not in repr(rotated)
    # both work during the grace period, then only the successor
    assert apikeys.authenticate(deps, f"Bearer {old.token}").id == old.info.key_id
    assert apikeys.authenticate(deps, f"Bearer {rotated.successor.token}").id == new.key_id
    deps.clock.advance(hours=24)
    with pytest.raises(Unauthenticated, match="expired"):
        apikeys.authenticate(deps, f"Bearer {old.token}")
    assert apikeys.authenticate(deps, f"Bearer {rotated.successor.token}").id == new.key_id
    event = deps.audit.events_of("platform")[-1]
    assert event.action == "key.rotate" and json.loads(event.details)["grace_period_hours"] == 24
    assert rotated.successor.token.split("_", 2)[2] not in event.details and "secret_hash" not in event.details


def test_a_grace_period_never_extends_a_key(deps, root):
    _, admin = root
    old = apikeys.create_key(deps, admin, NewKey(owner="x", roles=["consumer"], expires_in_days=1))
    previous = rotation.rotate_key(deps, admin, old.info.key_id, Rotation(grace_period_hours=720)).previous
    assert previous.expires_at == old.info.expires_at


def test_rotation_refusals(deps, root, publisher):
    _, admin = root
    key = apikeys.create_key(deps, admin, NewKey(owner="x", roles=["consumer"]))
    with pytest.raises(Forbidden, match="admin"):
        rotation.rotate_key(deps, publisher, key.info.key_id, Rotation(grace_period_hours=1))
    with pytest.raises(KeyNotFound):
        rotation.rotate_key(deps, admin, "f" * 16, Rotation(grace_period_hours=1))
    rotation.rotate_key(deps, admin, key.info.key_id, Rotation(grace_period_hours=1))
    with pytest.raises(InvalidTransition, match="rotated already"):
        rotation.rotate_key(deps, admin, key.info.key_id, Rotation(grace_period_hours=1))
    apikeys.revoke_key(deps, admin, (gone := apikeys.create_key(deps, admin, NewKey(owner="y", roles=["consumer"]))).info.key_id)
    with pytest.raises(InvalidTransition, match="revoked"):
        rotation.rotate_key(deps, admin, gone.info.key_id, Rotation(grace_period_hours=1))
    for bad in (-1, 721):
        with pytest.raises(ValueError):
            Rotation(grace_period_hours=bad)


def test_rotating_the_last_admin_key_is_fine_its_successor_is_active(deps, root):
    created, admin = root
    rotated = rotation.rotate_key(deps, admin, created.info.key_id, Rotation(grace_period_hours=0))
    with pytest.raises(Unauthenticated, match="expired"):
        apikeys.authenticate(deps, f"Bearer {created.token}")
    successor = apikeys.authenticate(deps, f"Bearer {rotated.successor.token}")
    # the successor is the last lasting admin key now: the lock-out rule protects it
    from functions.core.ports import Context

    with pytest.raises(LastAdminKey):
        apikeys.revoke_key(deps, Context(actor=successor, request_id="r"), successor.id)


def test_last_used_at_is_sampled_at_most_once_an_hour(deps, root):
    _, admin = root
    key = apikeys.create_key(deps, admin, NewKey(owner="app", roles=["consumer"]))
    header = f"Bearer {key.token}"

    def writes_for(call) -> int:
        before = deps.store.requests.count("update")
        call()
        return deps.store.requests.count("update") - before

    assert writes_for(lambda: apikeys.authenticate(deps, header)) == 1
    first = deps.clock.now
    for _ in range(20):
        deps.clock.advance(minutes=2)
        assert writes_for(lambda: apikeys.authenticate(deps, header)) == 0  # no write on every request
    assert apikeys.list_keys(deps, admin, owner="app").items[0].last_used_at == first
    deps.clock.advance(minutes=20)  # 60 minutes after the sample
    assert writes_for(lambda: apikeys.authenticate(deps, header)) == 1
    assert apikeys.list_keys(deps, admin, owner="app").items[0].last_used_at == deps.clock.now


def test_a_failing_sample_never_refuses_the_request(deps, root):
    _, admin = root
    key = apikeys.create_key(deps, admin, NewKey(owner="app", roles=["consumer"]))

    def broken(*_args, **_kwargs):
        raise RuntimeError("throttled")

    deps.store.touch = broken
    assert apikeys.authenticate(deps, f"Bearer {key.token}").id == key.info.key_id


def test_keys_are_listed_by_owner(deps, root):
    _, admin = root
    made = {owner: [apikeys.create_key(deps, admin, NewKey(owner=owner, roles=["consumer"])).info.key_id
                    for _ in range(n)]
            for owner, n in (("alice", 3), ("alice#x", 1), ("Bob", 2))}
    assert sorted(k.key_id for k in apikeys.list_keys(deps, admin, owner="alice").items) == sorted(made["alice"])
    assert [k.key_id for k in apikeys.list_keys(deps, admin, owner="alice#x").items] == made["alice#x"]
    assert len(apikeys.list_keys(deps, admin, owner=" bob ").items) == 2  # trimmed, case-folded
    assert apikeys.list_keys(deps, admin, owner="carol").items == []
    page = apikeys.list_keys(deps, admin, owner="alice", limit=2)
    rest = apikeys.list_keys(deps, admin, owner="alice", limit=2, cursor=page.cursor)
    assert len(page.items) == 2 and len(rest.items) == 1 and rest.cursor is None
    with pytest.raises(Forbidden):
        apikeys.list_keys(deps, ctx_for("approver"), owner="alice")
