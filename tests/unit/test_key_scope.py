"""Key scope (issue 10, finding 5): a pattern-limited admin key minted an unlimited one.

The rule chosen: admin keys take no model patterns (an admin is platform-wide), key
management and the platform audit chain need such an admin, and no key is ever created
with a role or a model pattern its creator lacks.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.core import apikeys, auditing, rotation
from functions.core.apikeys import pattern_within
from functions.core.errors import Forbidden
from functions.core.models import NewKey
from tests.unit.conftest import ctx_for

LIMITED_ADMIN = ctx_for("admin", id="adm1000000000000", owner="eve", patterns=("churn",))


def test_a_pattern_limited_admin_key_manages_no_keys(deps, admin):
    victim = apikeys.create_key(deps, admin, NewKey(owner="app", roles=["consumer"], patterns=["fraud"]))
    with pytest.raises(Forbidden, match="without model patterns"):
        apikeys.create_key(deps, LIMITED_ADMIN, NewKey(owner="eve", roles=["admin"], patterns=["*"]))
    with pytest.raises(Forbidden, match="without model patterns"):
        apikeys.list_keys(deps, LIMITED_ADMIN)
    with pytest.raises(Forbidden, match="without model patterns"):
        apikeys.revoke_key(deps, LIMITED_ADMIN, victim.info.key_id)
    with pytest.raises(Forbidden, match="without model patterns"):
        rotation.rotate_key(deps, LIMITED_ADMIN, victim.info.key_id, rotation.Rotation(grace_period_hours=0))
    with pytest.raises(Forbidden, match="without model patterns"):
        auditing.list_events(deps, LIMITED_ADMIN, "platform")
    assert all(r.chain != "platform" for r in auditing.verify_all(deps, LIMITED_ADMIN))
    assert apikeys.authenticate(deps, f"Bearer {victim.token}").id == victim.info.key_id  # untouched


def test_admin_keys_take_no_patterns():
    with pytest.raises(ValidationError, match="admin keys take no model patterns"):
        NewKey(owner="eve", roles=["admin"], patterns=["churn"])
    with pytest.raises(ValidationError, match="admin keys take no model patterns"):
        NewKey(owner="eve", roles=["admin", "publisher"], patterns=["churn*", "*"])
    assert NewKey(owner="ops", roles=["admin"]).patterns == ["*"]


def test_keys_are_created_only_within_the_creators_scope(deps, admin):
    made = apikeys.create_key(deps, admin, NewKey(owner="team", roles=["publisher", "approver"], patterns=["churn*"]))
    assert made.info.patterns == ["churn*"]
    # the check itself, for any creator
    team = ctx_for("publisher", "approver", patterns=("churn*",)).actor
    assert apikeys.within_scope(team, NewKey(owner="x", roles=["publisher"], patterns=["churn-eu*", "churn"]))
    assert not apikeys.within_scope(team, NewKey(owner="x", roles=["publisher"], patterns=["*"]))
    assert not apikeys.within_scope(team, NewKey(owner="x", roles=["consumer", "admin"], patterns=["*"]))
    assert not apikeys.within_scope(team, NewKey(owner="x", roles=["consumer"], patterns=["fraud"]))


@pytest.mark.parametrize(
    ("inner", "outer", "within"),
    [("churn", "*", True), ("churn", "churn", True), ("churn-x", "churn", False), ("churn", "churn*", True),
     ("churn-*", "churn*", True), ("churn*", "churn-*", False), ("*", "churn*", False), ("c*n", "c*", True),
     ("churn", "c*n", True), ("churx", "c*n", False), ("a*b", "a*b", True), ("ch*rn", "churn", False)],
)
def test_pattern_within_is_never_wider(inner, outer, within):
    assert pattern_within(inner, outer) is within


def test_an_exact_name_pins_one_model_and_a_glob_is_a_family():
    """Lower finding: `churn*` matching `churn-x` is by design (README says so); `churn` pins."""
    exact = ctx_for("consumer", patterns=("churn",)).actor
    family = ctx_for("consumer", patterns=("churn*",)).actor
    assert exact.covers("churn") and not exact.covers("churn-x") and not exact.covers("churnx")
    assert family.covers("churn") and family.covers("churn-x") and not family.covers("fraud")
