"""Risk tiers: two approvals for `high`, revalidation of production, overdue flags."""

import json
from datetime import timedelta

import pytest

from functions.core import governance, lifecycle, registry, revalidation
from functions.core.errors import FourEyesViolation, InvalidTransition
from functions.core.models import ModelPolicy, NewModel, VersionStatus
from tests.unit.conftest import ctx_for
from tests.unit.test_core_governance import publish

BOB2 = ctx_for("approver", id="bob2000000000000", owner="bob")  # another key of the same person
DORA = ctx_for("approver", id="dora000000000000", owner="dora")


@pytest.fixture
def high(deps, publisher):
    registry.create_model(deps, publisher, NewModel(name="loans", owner="alice", framework="onnx",
                                                    policy=ModelPolicy(risk_tier="high")))
    publish(deps, publisher, "1.0.0", name="loans")
    governance.submit(deps, publisher, "loans", "1.0.0")
    return "loans"


def test_a_high_risk_version_needs_two_approvals_from_different_people(deps, approver, high):
    first = governance.approve(deps, approver, high, "1.0.0", comment="methodology ok")
    assert first.status is VersionStatus.pending_approval and len(first.approvals) == 1
    event = json.loads(deps.store.events_of(high)[-1].details)
    assert (event["approvals"], event["needed"], event["to"]) == (1, 2, "pending_approval")
    with pytest.raises(FourEyesViolation, match="your approval already"):
        governance.approve(deps, approver, high, "1.0.0")
    with pytest.raises(FourEyesViolation, match="your approval already"):
        governance.approve(deps, BOB2, high, "1.0.0")  # same owner, other key
    second = governance.approve(deps, DORA, high, "1.0.0", comment="validation ok")
    assert second.status is VersionStatus.approved
    assert [(a.by, a.comment) for a in second.approvals] == [
        (approver.actor.id, "methodology ok"), (DORA.actor.id, "validation ok")]
    assert second.history[-1].by == DORA.actor.id


def test_other_tiers_need_one_approval(deps, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    governance.submit(deps, publisher, "churn", "1.0.0")
    assert governance.approve(deps, approver, "churn", "1.0.0").status is VersionStatus.approved


def test_production_is_flagged_when_overdue_and_revalidation_moves_the_date(deps, publisher, approver, high):
    governance.approve(deps, approver, high, "1.0.0")
    governance.approve(deps, DORA, high, "1.0.0")
    approved_at = deps.clock.now
    deps.clock.advance(days=10)
    governance.set_alias(deps, publisher, high, "production", "1.0.0")
    state = registry.get_model(deps, publisher, high).production
    assert (state.version, state.validated_at, state.revalidate_by) == ("1.0.0", approved_at, approved_at + timedelta(days=90))
    assert [m.revalidation_overdue for m in registry.list_models(deps, publisher).items] == [False]
    deps.clock.advance(days=80)  # 90 days after the approval
    assert registry.get_model(deps, publisher, high).revalidation_overdue
    assert [m.name for m in registry.list_models(deps, publisher, overdue=True).items] == [high]
    with pytest.raises(FourEyesViolation, match="published by you"):
        revalidation.revalidate(deps, ctx_for("approver", id="x000000000000000", owner="alice"), high, "1.0.0")
    done = revalidation.revalidate(deps, approver, high, "1.0.0", comment="back-tested on Q3")
    assert done.revalidations[-1].comment == "back-tested on Q3"
    model = registry.get_model(deps, publisher, high)
    assert not model.revalidation_overdue and model.production.revalidate_by == deps.clock.now + timedelta(days=90)
    assert registry.list_models(deps, publisher, overdue=True).items == []
    last = json.loads(deps.store.events_of(high)[-1].details)
    assert last["production"] is True and last["revalidate_by"] == model.production.revalidate_by.isoformat()


def test_the_interval_follows_the_policy(deps, admin, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    governance.submit(deps, publisher, "churn", "1.0.0")
    governance.approve(deps, approver, "churn", "1.0.0")
    governance.set_alias(deps, publisher, "churn", "production", "1.0.0")
    start = registry.get_model(deps, publisher, "churn").production
    assert start.revalidate_by - start.validated_at == timedelta(days=180)  # medium's default
    # a shorter interval tightens: applied at once, and the date moves with it
    lifecycle.update_model(deps, approver, "churn", {"policy": {"revalidation_days": 30}}, if_match="*")
    assert registry.get_model(deps, publisher, "churn").production.revalidate_by == start.validated_at + timedelta(days=30)
    # a longer one loosens: it waits for a second person
    pending = lifecycle.update_model(deps, approver, "churn", {"policy": {"risk_tier": "low",
                                                                           "revalidation_days": None}}, if_match="*")
    assert pending.change is not None and {f["field"] for f in pending.change.loosened} == {
        "policy.risk_tier", "policy.revalidation_days"}
    lifecycle.decide_change(deps, admin, "churn", pending.change.id, confirm=True)
    assert registry.get_model(deps, publisher, "churn").production.revalidate_by == start.validated_at + timedelta(days=365)


def test_only_approved_versions_are_revalidated_and_others_keep_production(deps, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    with pytest.raises(InvalidTransition, match="only approved"):
        revalidation.revalidate(deps, approver, "churn", "1.0.0")
    governance.submit(deps, publisher, "churn", "1.0.0")
    governance.approve(deps, approver, "churn", "1.0.0")
    publish(deps, publisher, "1.1.0")
    governance.submit(deps, publisher, "churn", "1.1.0")
    governance.approve(deps, approver, "churn", "1.1.0")
    governance.set_alias(deps, publisher, "churn", "production", "1.0.0")
    before = registry.get_model(deps, publisher, "churn").production
    deps.clock.advance(days=1)
    revalidation.revalidate(deps, approver, "churn", "1.1.0")  # not production: the model's date stays
    assert registry.get_model(deps, publisher, "churn").production == before
    governance.set_alias(deps, publisher, "churn", "staging", "1.1.0")  # not production either
    assert registry.get_model(deps, publisher, "churn").production == before
    governance.set_alias(deps, publisher, "churn", "production", "1.1.0")
    moved = registry.get_model(deps, publisher, "churn").production
    assert moved.version == "1.1.0" and moved.validated_at == deps.clock.now  # its revalidation counts
