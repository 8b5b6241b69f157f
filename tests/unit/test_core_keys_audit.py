import pytest

from functions.core import apikeys, auditing, registry
from functions.core.audit import AuditEvent, ChainHead, verify_chain
from functions.core.errors import Forbidden, InvalidTransition, KeyNotFound, Unauthenticated
from functions.core.models import NewKey, NewModel, NewVersion, Role
from functions.core.records import PLATFORM_HEAD_KEY
from tests.unit.conftest import ctx_for


def test_key_lifecycle(deps, admin):
    created = apikeys.create_key(deps, admin, NewKey(owner="dana", roles=["publisher"], patterns=["churn*"]))
    key_id = created.info.key_id
    assert created.token.startswith(f"mp_{key_id}_") and len(created.token.split("_", 2)[2]) >= 43
    assert "secret_hash" not in created.info.model_dump()
    assert "token" not in repr(created) or "<hidden>" in repr(created)
    assert created.token not in repr(created)
    principal = apikeys.authenticate(deps, f"Bearer {created.token}")
    assert principal.id == key_id and principal.roles == {Role.publisher} and principal.patterns == ("churn*",)
    listed = apikeys.list_keys(deps, admin).items
    assert [k.key_id for k in listed] == [key_id] and not hasattr(listed[0], "secret_hash")
    apikeys.revoke_key(deps, admin, key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        apikeys.authenticate(deps, f"Bearer {created.token}")
    with pytest.raises(InvalidTransition):
        apikeys.revoke_key(deps, admin, key_id)
    with pytest.raises(KeyNotFound):
        apikeys.revoke_key(deps, admin, "f" * 16)
    events = deps.audit.events_of("platform")
    assert [e.action for e in events] == ["key.create", "key.revoke"]
    assert all(created.token.split("_", 2)[2] not in e.details for e in events)
    assert all("hash" not in e.details for e in events)


def test_only_admins_manage_keys(deps, publisher):
    with pytest.raises(Forbidden, match="admin"):
        apikeys.create_key(deps, publisher, NewKey(owner="x", roles=["admin"]))


def test_expired_and_bad_tokens(deps, admin):
    created = apikeys.create_key(deps, admin, NewKey(owner="e", roles=["consumer"], expires_in_days=1))
    key_id, secret = created.token.split("_", 2)[1:]
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    bad = [None, "", "Basic abc", "Bearer nope", f"Bearer mp_{key_id}_short", f"Bearer mp_{'e' * 16}_{secret}"]
    for header in bad + [f"Bearer mp_{key_id}_{wrong}"]:
        with pytest.raises(Unauthenticated) as info:
            apikeys.authenticate(deps, header)
        assert secret not in str(info.value)
    deps.clock.advance(days=1)
    with pytest.raises(Unauthenticated, match="expired"):
        apikeys.authenticate(deps, f"Bearer {created.token}")


def test_bootstrap_admin(deps):
    created = apikeys.bootstrap_admin_key(deps, owner="ops")
    principal = apikeys.authenticate(deps, f"bearer {created.token}")
    assert principal.roles == {Role.admin}
    assert deps.audit.events_of("platform")[0].actor == "system:bootstrap"


@pytest.fixture
def chain(deps, publisher):
    registry.create_model(deps, publisher, NewModel(name="churn", owner="a", framework="onnx"))
    for i in range(4):
        registry.publish_version(deps, publisher, "churn", NewVersion(bump="patch", sha256="ab" * 32, size=1))
    return deps.audit.events_of("churn")


def head_of(deps, name="churn"):
    from functions.core.models import Model

    return deps.store.read_head(name, Model.key_for(name), Model)[1]


def test_chain_verifies_and_lists(deps, admin, approver, chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert auditing.verify(deps, admin, "churn").ok
    results = auditing.verify_all(deps, admin)
    assert [(r.chain, r.ok, r.events) for r in results] == [("platform", True, 0), ("churn", True, 5)]
    # approvers verify model chains but not the platform chain
    assert [r.chain for r in auditing.verify_all(deps, approver)] == ["churn"]
    page = auditing.list_events(deps, approver, "churn", limit=2)
    assert [e.seq for e in page.items] == [5, 4] and page.cursor
    with pytest.raises(Forbidden):
        auditing.list_events(deps, approver, "platform")
    with pytest.raises(Forbidden):
        auditing.list_events(deps, ctx_for("publisher"), "churn")


def edited(event: AuditEvent, **changes) -> AuditEvent:
    return event.model_copy(update=changes)


@pytest.mark.parametrize("index", [0, 2, 4])
def test_tampering_names_first_bad_event(deps, chain, index):
    head = head_of(deps)
    cases = {
        "edit actor": chain[:index] + [edited(chain[index], actor="mallory")] + chain[index + 1 :],
        "edit details": chain[:index] + [edited(chain[index], details='{"x":1}')] + chain[index + 1 :],
        "delete": chain[:index] + chain[index + 1 :],
    }
    for name, events in cases.items():
        result = verify_chain("churn", events, head)
        assert not result.ok, name
        assert result.first_bad_seq == index + 1, (name, result)
    if index < 4:
        swapped = list(chain)
        swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
        result = verify_chain("churn", swapped, head)
        assert (result.ok, result.first_bad_seq) == (False, index + 1)


def test_rehashed_rewrite_is_caught_by_the_head(deps, chain):
    from functions.core.audit import next_event

    head = head_of(deps)
    # an attacker rewrites the last event and recomputes its hash consistently
    prev = chain[-2]
    forged = next_event(
        ChainHead("churn", head.key, seq=prev.seq, hash=prev.hash),
        actor="mallory", action="version.publish", target="churn@9.9.9", request_id="x",
        time=chain[-1].time, details={},
    )  # fmt: skip
    result = verify_chain("churn", chain[:-1] + [forged], head)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    extra = next_event(head, actor="m", action="a", target="t", request_id="r", time=prev.time, details={})
    result = verify_chain("churn", chain + [extra], head)
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_platform_head_starts_empty(deps):
    from functions.core.records import PlatformHead

    record, head = deps.store.read_head("platform", PLATFORM_HEAD_KEY, PlatformHead)
    assert record is None and head.seq == 0
    assert auditing.verify(deps, ctx_for("admin"), "platform").ok


def test_revoking_a_key_and_moving_an_alias_flush_the_authorizer_cache(admin, publisher):
    from functions.core import governance
    from tests.unit.fakes import make_deps

    flushes = []

    class Cache:
        def flush(self):
            flushes.append(len(flushes))

    deps = make_deps(authorizer_cache=Cache())
    created = apikeys.create_key(deps, admin, NewKey(owner="x", roles=["consumer"]))
    assert flushes == []
    apikeys.revoke_key(deps, admin, created.info.key_id)
    assert flushes == [0]
    registry.create_model(deps, publisher, NewModel(name="m", owner="o", framework="onnx"))
    registry.publish_version(deps, publisher, "m", NewVersion(version="1.0.0", sha256="ab" * 32, size=1))
    governance.set_alias(deps, publisher, "m", "staging", "1.0.0")
    assert flushes == [0, 1]
