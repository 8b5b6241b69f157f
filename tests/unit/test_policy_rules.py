"""The policy-loosening rule (functions.core.policy_rules) and its use at model creation."""

import json

import pytest

from functions.core import auditing, policy_rules, registry
from functions.core.errors import Forbidden, PolicyLooseningForbidden
from functions.core.models import ModelPolicy, NewModel, RetrainAction, TrainingSpec
from functions.core.policy_rules import Governed
from tests.unit.conftest import ctx_for

LOOSE = [
    ({"require_approval": False}, "policy.require_approval"),
    ({"allow_pickle": True}, "policy.allow_pickle"),
    ({"allow_code": True}, "policy.allow_code"),
    ({"on_retrain": "deploy_staging"}, "policy.on_retrain"),
    ({"monitoring": {"enabled": False}}, "policy.monitoring.enabled"),
]


def governed(training: dict | None = None, **policy) -> Governed:
    return Governed(policy=ModelPolicy(**policy), training=TrainingSpec(**(training or {})))


@pytest.mark.parametrize(("change", "field"), LOOSE)
def test_each_trust_flag_loosens_and_its_reverse_tightens(change, field):
    found = policy_rules.loosenings(None, governed(**change))
    assert [f.field for f in found] == [field] and found[0].why
    # the reverse change (back to the defaults) is a tightening: nothing to check
    assert policy_rules.loosenings(governed(**change), governed()) == ()


def test_gate_and_training_image_changes():
    lower = policy_rules.loosenings(governed(min_improvement=0.05), governed(min_improvement=0.01))
    assert [(f.field, f.before, f.after) for f in lower] == [("policy.min_improvement", 0.05, 0.01)]
    assert policy_rules.loosenings(governed(min_improvement=0.01), governed(min_improvement=0.05)) == ()
    image = {"image": "123.dkr.ecr.eu-west-1.amazonaws.com/trainer:1"}
    assert [f.field for f in policy_rules.loosenings(None, governed(image))] == ["training.image"]
    assert policy_rules.loosenings(governed(image), governed(image)) == ()  # unchanged: nothing new runs
    other = {"image": "123.dkr.ecr.eu-west-1.amazonaws.com/trainer:2"}
    assert [f.field for f in policy_rules.loosenings(governed(image), governed(other))] == ["training.image"]
    # neutral changes: what is measured, how retrains are submitted, other hyperparameters
    neutral = governed({"hyperparameters": {"target": "y"}}, metric="f1", on_retrain=RetrainAction.stop)
    assert policy_rules.loosenings(None, neutral) == ()


def test_who_may_loosen():
    admin, approver = ctx_for("admin").actor, ctx_for("approver").actor
    publisher, both = ctx_for("publisher").actor, ctx_for("publisher", "approver").actor
    assert policy_rules.may_loosen(admin, creating=True)
    assert not policy_rules.may_loosen(both, creating=True)  # the creator is the publisher
    assert not policy_rules.may_loosen(publisher, creating=False)
    assert policy_rules.may_loosen(approver, creating=False) and policy_rules.may_loosen(both, creating=False)
    change = governed(allow_pickle=True, require_approval=False)
    with pytest.raises(PolicyLooseningForbidden, match="policy.require_approval, policy.allow_pickle") as caught:
        policy_rules.check_change(publisher, governed(), change, creating=False)
    assert isinstance(caught.value, Forbidden) and "an approver or an admin" in caught.value.message
    found = policy_rules.check_change(approver, governed(), change, creating=False)
    assert policy_rules.audit_details(found) == [
        {"field": "policy.require_approval", "from": True, "to": False, "why": found[0].why},
        {"field": "policy.allow_pickle", "from": False, "to": True, "why": found[1].why},
    ]
    # tightening needs no particular role
    assert policy_rules.check_change(publisher, change, governed(), creating=False) == ()


@pytest.mark.parametrize(("change", "field"), LOOSE)
def test_a_publisher_cannot_create_a_loosened_model(deps, publisher, change, field):
    new = NewModel(name="lax", owner="alice", framework="sklearn", policy=ModelPolicy(**change))
    with pytest.raises(PolicyLooseningForbidden, match=f"{field} loosens.*needs an admin"):
        registry.create_model(deps, publisher, new)
    both = ctx_for("publisher", "approver", id="both000000000000", owner="carol")
    with pytest.raises(PolicyLooseningForbidden):
        registry.create_model(deps, both, new)
    assert registry.list_models(deps, publisher).items == []


def test_an_admin_creates_a_loosened_model_and_the_audit_names_it(deps, admin):
    new = NewModel(name="lax", owner="alice", framework="python",
                   policy=ModelPolicy(allow_code=True, allow_pickle=True))
    model = registry.create_model(deps, admin, new)
    assert model.policy.allow_code and model.policy.allow_pickle
    event = auditing.list_events(deps, admin, "lax").items[0]
    assert event.action == "model.create" and event.actor == admin.actor.label
    assert [f["field"] for f in json.loads(event.details)["loosened"]] == ["policy.allow_pickle", "policy.allow_code"]


def test_a_publisher_creates_a_default_model(deps, publisher):
    model = registry.create_model(deps, publisher, NewModel(name="strict", owner="alice", framework="sklearn"))
    assert model.policy == ModelPolicy() and not model.policy.allow_code


def test_monitoring_choices_that_keep_watching_are_neutral():
    """Drift thresholds, schedules and `on_drift: retrain` change how drift is acted on, not
    whether it is seen; a drift retrain still goes through evaluation and approval."""
    neutral = governed(monitoring={"on_drift": "retrain", "schedule": None, "thresholds": {"psi": 0.5}})
    assert policy_rules.loosenings(None, neutral) == ()
