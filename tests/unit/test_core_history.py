"""Production history: periods written with each alias move, and "what served at T"."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from functions.core import auditing, governance, history
from functions.core.errors import AliasNotFound, InvalidInput, ModelNotFound
from functions.core.models import ModelPolicy, NewModel
from tests.unit.conftest import ctx_for
from tests.unit.test_core_governance import publish


@pytest.fixture
def lax(deps, admin, publisher):
    from functions.core.registry import create_model

    # only an admin may create a model whose policy is loosened (policy_rules)
    create_model(deps, admin, NewModel(name="lax", owner="alice", framework="onnx",
                                           policy=ModelPolicy(require_approval=False)))
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        publish(deps, publisher, v, name="lax")
    return "lax"


def test_each_move_closes_the_open_period_in_its_own_transaction(deps, publisher, lax):
    clock = deps.clock
    t0 = clock.now
    governance.set_alias(deps, publisher, lax, "production", "1.0.0", endpoint="ep", deployment_id="d1")
    clock.advance(hours=1)
    before = len(deps.store.requests)
    governance.set_alias(deps, publisher, lax, "production", "1.1.0", endpoint="ep", deployment_id="d2")
    # reads: head, version, alias; then ONE transaction with the alias, both periods and the event
    assert deps.store.requests[before:] == ["get", "get", "get", "transact"]
    periods = history.list_history(deps, publisher, lax, "production").items
    assert [(p.version, p.deployment_id) for p in periods] == [("1.1.0", "d2"), ("1.0.0", "d1")]
    newest, oldest = periods
    assert (oldest.start, oldest.end, newest.start, newest.end) == (t0, t0 + timedelta(hours=1), t0 + timedelta(hours=1), None)
    assert oldest.covers(oldest.start) and not oldest.covers(oldest.end)
    assert oldest.moved_by == publisher.actor.label and oldest.closed_by == publisher.actor.label
    events = {e.seq: e for e in deps.store.events_of(lax)}
    assert events[newest.opened_seq].action == "alias.set" and oldest.closed_seq == newest.opened_seq
    assert '"deployment_id":"d2"' in events[newest.opened_seq].details
    assert auditing.verify(deps, ctx_for("admin"), lax).ok


def test_served_at_period_boundaries_and_before_the_first_move(deps, publisher, lax):
    clock = deps.clock
    t0 = clock.now
    governance.set_alias(deps, publisher, lax, "production", "1.0.0", endpoint="ep", deployment_id="d1")
    clock.advance(hours=2)
    governance.set_alias(deps, publisher, lax, "production", "1.1.0", endpoint="ep", deployment_id="d2")
    t2 = clock.now

    def at(moment):
        found = history.served_at(deps, publisher, lax, "production", moment)
        return found.version if found else None

    assert at(t0 - timedelta(microseconds=1)) is None  # before the first deployment
    assert at(t0) == "1.0.0"  # a period includes its start
    assert at(t0 + timedelta(hours=1)) == "1.0.0"
    assert at(t2 - timedelta(microseconds=1)) == "1.0.0"
    assert at(t2) == "1.1.0"  # ... and excludes its end: the next one serves
    assert at(t2 + timedelta(days=365)) == "1.1.0"  # the open period
    # other time zones name the same instant
    assert at((t2 - timedelta(microseconds=1)).astimezone(timezone_plus(5))) == "1.0.0"


def timezone_plus(hours):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_served_at_is_one_request(deps, publisher, lax):
    for v in ("1.0.0", "1.1.0", "1.2.0", "1.0.0"):
        governance.set_alias(deps, publisher, lax, "production", v)
        deps.clock.advance(minutes=5)
    before = len(deps.store.requests)
    found = history.served_at(deps, publisher, lax, "production", deps.clock.now - timedelta(minutes=12))
    assert found is not None and found.version == "1.1.0"
    assert deps.store.requests[before:] == ["query"]


def test_same_version_continues_the_period_but_a_deployment_starts_one(deps, publisher, lax):
    governance.set_alias(deps, publisher, lax, "staging", "1.0.0")
    deps.clock.advance(minutes=1)
    governance.set_alias(deps, publisher, lax, "staging", "1.0.0")  # nothing changed
    assert len(history.list_history(deps, publisher, lax, "staging").items) == 1
    deps.clock.advance(minutes=1)
    governance.set_alias(deps, publisher, lax, "staging", "1.0.0", endpoint="ep", deployment_id="d1")
    deps.clock.advance(minutes=1)
    governance.set_alias(deps, publisher, lax, "staging", "1.0.0", endpoint="ep", deployment_id="d2")  # a redeploy
    periods = history.list_history(deps, publisher, lax, "staging").items
    assert [(p.endpoint, p.deployment_id) for p in periods] == [("ep", "d2"), ("ep", "d1"), (None, None)]


def test_a_clock_that_goes_back_cannot_make_periods_overlap(deps, publisher, lax):
    governance.set_alias(deps, publisher, lax, "production", "1.0.0")
    deps.clock.advance(seconds=-30)  # another Lambda's clock, behind this one
    governance.set_alias(deps, publisher, lax, "production", "1.1.0")
    deps.clock.advance(seconds=-30)
    governance.set_alias(deps, publisher, lax, "production", "1.2.0")
    periods = list(reversed(history.list_history(deps, publisher, lax, "production").items))
    for earlier, later in itertools.pairwise(periods):
        assert earlier.end == later.start and earlier.start <= earlier.end
    found = history.served_at(deps, publisher, lax, "production", periods[-1].start)
    assert found is not None and found.version == "1.2.0"  # the newest of periods sharing a start


def test_history_pages_newest_first(deps, publisher, lax):
    versions = ["1.0.0", "1.1.0", "1.2.0"] * 3
    for v in versions:
        governance.set_alias(deps, publisher, lax, "production", v)
        deps.clock.advance(seconds=1)
    seen, cursor = [], None
    while True:
        page = history.list_history(deps, publisher, lax, "production", limit=4, cursor=cursor)
        seen += [p.version for p in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == list(reversed(versions))


def test_unknown_model_alias_and_naive_times(deps, publisher, lax):
    with pytest.raises(ModelNotFound):
        history.list_history(deps, publisher, "ghost", "production")
    with pytest.raises(AliasNotFound, match="no alias 'production'"):
        history.served_at(deps, publisher, lax, "production", datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="UTC offset"):
        history.served_at(deps, publisher, lax, "production", datetime(2025, 1, 1))
    with pytest.raises(InvalidInput, match="alias name"):
        history.list_history(deps, publisher, lax, "Bad#alias")
    with pytest.raises(Exception, match="patterns"):
        history.list_history(deps, ctx_for("consumer", patterns=("fraud*",)), lax, "production")
