"""No lock-out: the last active admin key can be neither revoked nor left to expire, and a
locked-out installation can be recovered (issue 11)."""

import threading

import pytest

from functions.core import apikeys
from functions.core.errors import BootstrapRefused, LastAdminKey, Unauthenticated
from functions.core.models import NewKey
from functions.core.ports import Context
from tests.unit.fakes import make_deps


def as_ctx(created: apikeys.CreatedKey, deps) -> Context:
    return Context(actor=apikeys.authenticate(deps, f"Bearer {created.token}"), request_id="r")


@pytest.fixture
def root(deps):
    return apikeys.bootstrap_first_admin_key(deps, owner="root")


def test_the_last_admin_key_cannot_revoke_itself(deps, root):
    ctx = as_ctx(root, deps)
    with pytest.raises(LastAdminKey, match="last active admin key.*Create another admin key"):
        apikeys.revoke_key(deps, ctx, root.info.key_id)
    # still works, and nothing was written
    assert apikeys.authenticate(deps, f"Bearer {root.token}").id == root.info.key_id
    assert [e.action for e in deps.audit.events_of("platform")] == ["key.create"]


def test_with_a_second_lasting_admin_either_can_go_but_not_both(deps, root):
    ctx = as_ctx(root, deps)
    second = apikeys.create_key(deps, ctx, NewKey(owner="ops", roles=["admin"]))
    apikeys.revoke_key(deps, ctx, root.info.key_id)
    other = as_ctx(second, deps)
    with pytest.raises(LastAdminKey):
        apikeys.revoke_key(deps, other, second.info.key_id)


def test_an_expiring_admin_key_does_not_replace_the_last_lasting_one(deps, root):
    """Revoking the only never-expiring admin key would leave keys that all expire: a
    lock-out deferred to their expiry date, so it is refused too."""
    ctx = as_ctx(root, deps)
    temporary = apikeys.create_key(deps, ctx, NewKey(owner="ops", roles=["admin"], expires_in_days=30))
    with pytest.raises(LastAdminKey, match="without an expiry"):
        apikeys.revoke_key(deps, as_ctx(temporary, deps), root.info.key_id)
    # the expiring admin key itself may go: the lasting one remains
    apikeys.revoke_key(deps, ctx, temporary.info.key_id)


def test_revoking_other_roles_is_never_checked_against_admins(deps, root):
    ctx = as_ctx(root, deps)
    consumer = apikeys.create_key(deps, ctx, NewKey(owner="app", roles=["consumer"]))
    apikeys.revoke_key(deps, ctx, consumer.info.key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        apikeys.authenticate(deps, f"Bearer {consumer.token}")


def test_the_rule_takes_the_key_as_the_change_leaves_it(deps, root):
    """What key rotation (issue 12) calls: the old key gains an expiry, a new key appears."""
    old = deps.store.get(apikeys.ApiKey.key_for(root.info.key_id), apikeys.ApiKey)
    expiring = old.info().model_copy(update={"expires_at": deps.clock()})
    with pytest.raises(LastAdminKey):
        apikeys.require_lasting_admin(deps, [expiring])
    replacement = expiring.model_copy(update={"key_id": "f" * 16, "expires_at": None})
    apikeys.require_lasting_admin(deps, [expiring, replacement])


def test_two_racing_revocations_of_the_last_two_admins_cannot_both_pass(deps, root):
    """Both read the keys before either commits; the platform chain's head orders them, and
    the loser re-runs its check against the winner's state."""
    ctx = as_ctx(root, deps)
    second = apikeys.create_key(deps, ctx, NewKey(owner="ops", roles=["admin"]))
    barrier = threading.Barrier(2)
    real_read_head = deps.store.read_head
    first_reads = threading.local()

    def read_head(*args, **kwargs):
        result = real_read_head(*args, **kwargs)
        if not getattr(first_reads, "done", False):
            first_reads.done = True
            barrier.wait(timeout=5)  # both have read the head before either commits
        return result

    deps.store.read_head = read_head
    outcomes: dict[str, str] = {}

    def revoke(key_id: str) -> None:
        try:
            apikeys.revoke_key(deps, ctx, key_id)
            outcomes[key_id] = "revoked"
        except LastAdminKey:
            outcomes[key_id] = "refused"

    threads = [threading.Thread(target=revoke, args=(k,)) for k in (root.info.key_id, second.info.key_id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes.values()) == ["refused", "revoked"]


def test_recovery_refuses_while_an_admin_key_works(deps, root):
    with pytest.raises(BootstrapRefused, match=f"admin key {root.info.key_id}.*is active"):
        apikeys.recover_admin_key(deps, "ops", reason="test")
    assert [e.action for e in deps.audit.events_of("platform")] == ["key.create"]


def test_recovery_issues_an_audited_admin_key_when_none_works(deps):
    """An installation whose only admin key expired (created before the rule, or by hand)."""
    ctx = Context(actor=apikeys.system_actor("test"), request_id="r")
    old = apikeys.create_key(deps, ctx, NewKey(owner="old", roles=["admin"], expires_in_days=1))
    deps.clock.advance(days=2)
    with pytest.raises(Unauthenticated, match="expired"):
        apikeys.authenticate(deps, f"Bearer {old.token}")
    recovered = apikeys.recover_admin_key(deps, "ops", reason="every admin key expired")
    principal = apikeys.authenticate(deps, f"Bearer {recovered.token}")
    assert principal.owner == "ops" and recovered.info.expires_at is None
    event = deps.audit.events_of("platform")[-1]
    assert (event.action, event.actor) == ("key.recover", "system:recovery")
    assert "every admin key expired" in event.details and recovered.token.split("_", 2)[2] not in event.details


def test_local_recovery_may_issue_a_key_beside_working_ones(deps, root):
    recovered = apikeys.recover_admin_key(deps, "local", reason="admin.key did not authenticate",
                                          only_when_locked_out=False)
    assert apikeys.authenticate(deps, f"Bearer {recovered.token}").owner == "local"


def test_a_fresh_installation_can_be_recovered_too():
    deps = make_deps()
    recovered = apikeys.recover_admin_key(deps, "ops", reason="no keys at all")
    assert apikeys.authenticate(deps, f"Bearer {recovered.token}").owner == "ops"
