"""A model's lifecycle: merge-patch changes with If-Match, the two-person rule, retirement."""

import json

import pytest

from functions.core import auditing, governance, lifecycle, registry
from functions.core.errors import (
    ChangeNotPending,
    ChangeStale,
    Forbidden,
    FourEyesViolation,
    InvalidInput,
    ModelInUse,
    ModelRetired,
    PolicyLooseningForbidden,
    PreconditionFailed,
    PreconditionRequired,
)
from functions.core.lifecycle import merge_patch
from functions.core.models import NewModel, NewVersion
from tests.unit.conftest import ctx_for
from tests.unit.test_core_governance import publish

APPROVER2 = ctx_for("approver", id="appr200000000000", owner="dora")


def events(deps, chain="churn"):
    return deps.store.events_of(chain)


def test_merge_patch_is_rfc_7386():
    # the examples of RFC 7386, section 3
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "c"}, {"a": ["b"]}) == {"a": ["b"]}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]
    assert merge_patch({"a": "b"}, ["c"]) == ["c"]
    assert merge_patch({"a": "foo"}, None) is None
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_a_patch_changes_settings_audited_with_before_and_after(deps, publisher, churn):
    assert churn.revision == 1
    updated = lifecycle.update_model(deps, publisher, "churn", {
        "description": "who leaves", "training": {"hyperparameters": {"target": "churned"}},
        "policy": {"metric": "auc"}}, if_match='"1"').model
    assert (updated.revision, updated.description, updated.policy.metric) == (2, "who leaves", "auc")
    assert updated.training.hyperparameters == {"target": "churned"}
    # null restores the default; members not named stay as they are
    again = lifecycle.update_model(deps, publisher, "churn", {"policy": {"metric": None}}, if_match="2").model
    assert (again.policy.metric, again.description, again.revision) == ("accuracy", "who leaves", 3)
    last = events(deps)[-1]
    assert (last.action, last.target) == ("model.update", "churn")
    details = json.loads(last.details)
    assert details["changed"] == ["policy.metric"]
    assert (details["before"]["policy"]["metric"], details["after"]["policy"]["metric"]) == ("auc", "accuracy")
    assert registry.get_model(deps, publisher, "churn").model_dump(exclude={"revalidation_overdue"}) == again.model_dump()
    assert auditing.verify(deps, ctx_for("admin"), "churn").ok


def test_if_match_is_required_and_a_stale_one_is_refused(deps, publisher, churn):
    with pytest.raises(PreconditionRequired, match="If-Match"):
        lifecycle.update_model(deps, publisher, "churn", {"description": "x"}, if_match=None)
    lifecycle.update_model(deps, publisher, "churn", {"description": "x"}, if_match='"1"')
    with pytest.raises(PreconditionFailed, match="revision 2, not 1"):
        lifecycle.update_model(deps, publisher, "churn", {"description": "y"}, if_match='"1"')
    with pytest.raises(PreconditionFailed, match="weak"):
        lifecycle.update_model(deps, publisher, "churn", {"description": "y"}, if_match='W/"2"')
    with pytest.raises(InvalidInput, match="not a model revision"):
        lifecycle.update_model(deps, publisher, "churn", {"description": "y"}, if_match='"two"')
    assert lifecycle.update_model(deps, publisher, "churn", {"description": "y"}, if_match="*").model.revision == 3


def test_an_unchanged_patch_writes_nothing(deps, publisher, churn):
    before = len(events(deps))
    same = lifecycle.update_model(deps, publisher, "churn", {"owner": "alice"}, if_match="1")
    assert same.model.revision == 1 and same.change is None and len(events(deps)) == before


@pytest.mark.parametrize(("patch", "path"), [
    ({"name": "other"}, "body.name"),
    ({"framework": "onnx"}, "body.framework"),
    ({"owner": None}, "body.owner"),
    ({"owner": ""}, "body.owner"),
    ({"policy": {"metric_direction": "sideways"}}, "body.policy.metric_direction"),
    ({"policy": {"bogus": 1}}, "body.policy.bogus"),
    ({"training": {"image": "x", "trainer": "tabular"}}, "body.training"),
    ({"policy": {"risk_tier": "extreme"}}, "body.policy.risk_tier"),
    ({"policy": "strict"}, "body.policy"),
    ([1, 2], "body"),
])
def test_bad_patches_name_the_field(deps, publisher, churn, patch, path):
    with pytest.raises(InvalidInput) as refused:
        lifecycle.update_model(deps, publisher, "churn", patch, if_match="1")
    assert path in [f["path"] for f in refused.value.fields], refused.value.fields


# who may change what: role × kind of change
KINDS = {
    "description": {"description": "d"},
    "tighten_flag": {"policy": {"allow_pickle": False, "require_approval": True, "allow_code": False,
                                "risk_tier": "high"}},
    "loosen": {"policy": {"require_approval": False}},
}


@pytest.mark.parametrize("roles", [("consumer",), ("approver",), ("publisher",), ("publisher", "approver"), ("admin",)])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_lifecycle_rules_by_role(deps, churn, roles, kind):
    actor = ctx_for(*roles, id="actor00000000000", owner="eve")
    may_patch = bool({"publisher", "admin"} & set(roles)) or ("approver" in roles and kind != "description")
    may_decide = bool({"approver", "admin"} & set(roles))
    patch = KINDS[kind]
    if kind == "tighten_flag":  # start loose (an admin made it so), then tighten the trust flags
        deps.store.items[churn.key]["data"]["policy"]["allow_pickle"] = True
    try:
        result = lifecycle.update_model(deps, actor, "churn", patch, if_match="*")
    except Forbidden as refused:
        assert not may_patch or (kind != "description" and not may_decide), refused
        return
    assert may_patch and (kind == "description" or may_decide)
    if kind == "loosen":
        assert result.change is not None and result.model.policy.require_approval  # not applied yet
    else:
        assert result.change is None and result.model.revision == 2


def test_loosening_needs_a_second_person_who_confirms(deps, publisher, approver, churn):
    both = ctx_for("publisher", "approver", id="both000000000000", owner="carol")
    pending = lifecycle.update_model(deps, both, "churn", {"policy": {"require_approval": False, "risk_tier": "low"}},
                                     if_match="1").change
    assert pending is not None and pending.status == "pending" and pending.base_revision == 1
    assert [f["field"] for f in pending.loosened] == ["policy.require_approval", "policy.risk_tier",
                                                     "policy.revalidation_days"]
    assert registry.get_model(deps, publisher, "churn").policy.require_approval  # nothing applied
    request = events(deps)[-1]
    assert request.action == "model.change_request" and json.loads(request.details)["change_id"] == pending.id
    # not the requester, nor another key of the same person
    with pytest.raises(FourEyesViolation, match="requested by you"):
        lifecycle.decide_change(deps, both, "churn", pending.id, confirm=True)
    with pytest.raises(FourEyesViolation):
        lifecycle.decide_change(deps, ctx_for("admin", id="carol2admin00000", owner="carol"), "churn", pending.id,
                                confirm=True)
    with pytest.raises(Forbidden, match="admin or approver role"):
        lifecycle.decide_change(deps, publisher, "churn", pending.id, confirm=True)
    done = lifecycle.decide_change(deps, approver, "churn", pending.id, confirm=True, comment="ok for the pilot")
    assert done.model.policy.require_approval is False and done.model.revision == 2
    assert (done.change.status, done.change.decided_by) == ("applied", approver.actor.id)
    applied = json.loads(events(deps)[-1].details)
    assert applied["requested_by"] == both.actor.id and applied["confirmed_by"] == approver.actor.id
    assert applied["before"]["policy"]["require_approval"] is True and applied["after"]["policy"]["require_approval"] is False
    with pytest.raises(ChangeNotPending, match="already applied"):
        lifecycle.decide_change(deps, APPROVER2, "churn", pending.id, confirm=True)
    assert [c.id for c in lifecycle.list_changes(deps, publisher, "churn").items] == [pending.id]


def test_a_publisher_alone_cannot_even_request_a_loosening(deps, publisher, churn):
    with pytest.raises(PolicyLooseningForbidden, match="policy.on_retrain"):
        lifecycle.update_model(deps, publisher, "churn", {"policy": {"on_retrain": "deploy_staging"}}, if_match="1")


def test_a_pending_change_is_stale_once_the_model_moved_and_expires(deps, publisher, approver, churn):
    pending = lifecycle.update_model(deps, approver, "churn", {"policy": {"allow_pickle": True}}, if_match="1").change
    lifecycle.update_model(deps, publisher, "churn", {"description": "meanwhile"}, if_match="1")
    with pytest.raises(ChangeStale, match="revision 1 → 2"):
        lifecycle.decide_change(deps, APPROVER2, "churn", pending.id, confirm=True)
    late = lifecycle.update_model(deps, approver, "churn", {"policy": {"allow_pickle": True}}, if_match="2").change
    deps.clock.advance(days=8)
    with pytest.raises(ChangeNotPending, match="expired"):
        lifecycle.decide_change(deps, APPROVER2, "churn", late.id, confirm=True)
    # the requester may withdraw (reject) it
    withdrawn = lifecycle.decide_change(deps, approver, "churn", late.id, confirm=False, comment="not needed")
    assert withdrawn.change.status == "rejected" and withdrawn.model.policy.allow_pickle is False
    assert events(deps)[-1].action == "model.change_reject"


def test_retire_is_refused_while_deployed_then_the_model_is_read_only(deps, admin, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    governance.set_alias(deps, publisher, "churn", "staging", "1.0.0", endpoint="mp-dev-churn-staging")
    with pytest.raises(ModelInUse, match="alias staging \\(1.0.0 on endpoint mp-dev-churn-staging\\)"):
        lifecycle.retire_model(deps, publisher, "churn")
    governance.set_alias(deps, publisher, "churn", "staging", "1.0.0")  # still the endpoint: same version
    with pytest.raises(ModelInUse):
        lifecycle.retire_model(deps, publisher, "churn")
    # an alias moved away from its endpoint no longer serves
    publish(deps, publisher, "1.0.1")
    governance.set_alias(deps, publisher, "churn", "staging", "1.0.1")
    with pytest.raises(Forbidden):
        lifecycle.retire_model(deps, approver, "churn")
    retired = lifecycle.retire_model(deps, publisher, "churn", reason="replaced by churn-v2")
    assert (retired.status, retired.retired_by, retired.revision) == ("retired", publisher.actor.id, 2)
    assert json.loads(events(deps)[-1].details)["before"] == {"status": "active"}
    with pytest.raises(ModelRetired):
        lifecycle.retire_model(deps, publisher, "churn")
    refusals = [
        lambda: registry.publish_version(deps, publisher, "churn", NewVersion(version="2.0.0", sha256="cd" * 32, size=1)),
        lambda: governance.submit(deps, publisher, "churn", "1.0.0"),
        lambda: governance.set_alias(deps, publisher, "churn", "staging", "1.0.0"),
        lambda: lifecycle.update_model(deps, publisher, "churn", {"description": "x"}, if_match="*"),
    ]
    for refused in refusals:
        with pytest.raises(ModelRetired, match="retired"):
            refused()
    # still in the inventory: read, listed with a filter
    assert registry.get_model(deps, publisher, "churn").status == "retired"
    registry.create_model(deps, publisher, NewModel(name="fresh", owner="alice", framework="onnx"))
    names = {s: [m.name for m in registry.list_models(deps, publisher, status=s).items]
             for s in ("active", "retired", "all")}
    assert names == {"active": ["fresh"], "retired": ["churn"], "all": ["churn", "fresh"]}
    assert auditing.verify(deps, admin, "churn").ok
