import pytest

from functions.core import governance, registry, serving
from functions.core.errors import (
    ApprovalRequired,
    ArtifactNotVerified,
    Forbidden,
    FourEyesViolation,
    InvalidTransition,
    ModelCardIncomplete,
    ModelNotFound,
    NotDeployed,
    VersionNotFound,
    VersionNotServable,
)
from functions.core.models import ModelCard, ModelPolicy, NewModel, NewVersion, VersionStatus
from functions.core.ports import StoredObject
from tests.unit.conftest import ctx_for

SHA = "cd" * 32
CARD = ModelCard(intended_use="churn", limitations="EU only", evaluation="auc 0.9", training_data="2024")


def publish(deps, ctx, version, card=CARD, upload=True, name="churn"):
    published = registry.publish_version(
        deps, ctx, name, NewVersion(version=version, sha256=SHA, size=42, card=card)
    )
    if upload:
        deps.artifacts.objects[published.version.artifact.uri] = StoredObject(sha256=SHA, size=42)
    return published.version


def test_submit_needs_complete_card(deps, publisher, churn):
    publish(deps, publisher, "1.0.0", card=ModelCard(intended_use="x"))
    with pytest.raises(ModelCardIncomplete, match="limitations, evaluation, training_data"):
        governance.submit(deps, publisher, "churn", "1.0.0")


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (None, "no artifact uploaded"),
        (StoredObject(sha256=None, size=42), "without a SHA-256"),
        (StoredObject(sha256="00" * 32, size=42), "does not match"),
        (StoredObject(sha256=SHA, size=41), "41 bytes"),
    ],
)
def test_submit_verifies_the_artifact(deps, publisher, churn, stored, message):
    version = publish(deps, publisher, "1.0.0", upload=False)
    if stored:
        deps.artifacts.objects[version.artifact.uri] = stored
    with pytest.raises(ArtifactNotVerified, match=message):
        governance.submit(deps, publisher, "churn", "1.0.0")
    assert registry.resolve(deps, publisher, "churn", "1.0.0").status is VersionStatus.registered


def test_four_eyes_and_approval(deps, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    submitted = governance.submit(deps, publisher, "churn", "1.0.0")
    assert submitted.status is VersionStatus.pending_approval
    with pytest.raises(Forbidden, match="approver"):
        governance.approve(deps, publisher, "churn", "1.0.0")
    # an admin key held by the publisher is still the publisher
    same_person = ctx_for("admin", id="other00000000000", owner="alice")
    with pytest.raises(FourEyesViolation):
        governance.approve(deps, same_person, "churn", "1.0.0")
    approved = governance.approve(deps, approver, "churn", "1.0.0", comment="ok")
    assert approved.status is VersionStatus.approved
    assert [h.status for h in approved.history] == ["registered", "pending_approval", "approved"]
    assert approved.history[-1].by == approver.actor.id and approved.history[-1].comment == "ok"
    with pytest.raises(InvalidTransition, match="approved; it cannot become approved"):
        governance.approve(deps, approver, "churn", "1.0.0")


def test_self_approval_by_same_key_is_refused(deps, churn):
    both = ctx_for("publisher", "approver", id="both000000000000", owner="carol")
    publish(deps, both, "1.0.0")
    governance.submit(deps, both, "churn", "1.0.0")
    with pytest.raises(FourEyesViolation, match="published by you"):
        governance.approve(deps, both, "churn", "1.0.0")


def test_reject_and_archive(deps, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    with pytest.raises(InvalidTransition):
        governance.reject(deps, approver, "churn", "1.0.0")
    governance.submit(deps, publisher, "churn", "1.0.0")
    assert governance.reject(deps, approver, "churn", "1.0.0", "bad").status is VersionStatus.rejected
    with pytest.raises(VersionNotServable):
        governance.set_alias(deps, publisher, "churn", "staging", "1.0.0")
    assert governance.archive(deps, publisher, "churn", "1.0.0").status is VersionStatus.archived
    with pytest.raises(VersionNotFound):
        governance.submit(deps, publisher, "churn", "9.9.9")
    with pytest.raises(ModelNotFound):
        governance.submit(deps, publisher, "ghost", "1.0.0")


def test_production_alias_needs_approval(deps, publisher, approver, churn):
    publish(deps, publisher, "1.0.0")
    with pytest.raises(ApprovalRequired, match="production needs an approved version"):
        governance.set_alias(deps, publisher, "churn", "production", "1.0.0")
    staging = governance.set_alias(deps, publisher, "churn", "staging", "1.x")
    assert staging.version == "1.0.0"
    governance.submit(deps, publisher, "churn", "1.0.0")
    governance.approve(deps, approver, "churn", "1.0.0")
    prod = governance.set_alias(deps, approver, "churn", "production", "latest")
    assert prod.version == "1.0.0" and prod.endpoint is None
    assert registry.resolve(deps, publisher, "churn", "production").version == "1.0.0"
    assert [a.alias for a in governance.list_aliases(deps, publisher, "churn")] == ["production", "staging"]
    with pytest.raises(InvalidTransition, match="still backs alias production, staging"):
        governance.archive(deps, publisher, "churn", "1.0.0")


def test_policy_without_approval_allows_registered_production(deps, admin, publisher):
    # a policy without approval is a loosening: an admin creates it (tests/unit/test_policy_rules.py)
    registry.create_model(
        deps, admin, NewModel(name="lax", owner="x", framework="onnx", policy=ModelPolicy(require_approval=False))
    )
    publish(deps, publisher, "0.1.0", name="lax")
    assert governance.set_alias(deps, publisher, "lax", "production", "0.1.0").version == "0.1.0"


def test_endpoint_is_kept_on_same_version_and_dropped_on_move(deps, publisher, churn):
    publish(deps, publisher, "1.0.0")
    publish(deps, publisher, "1.1.0")
    governance.set_alias(deps, publisher, "churn", "staging", "1.0.0", endpoint="mp-dev-churn-staging")
    assert governance.set_alias(deps, publisher, "churn", "staging", "1.0.0").endpoint == "mp-dev-churn-staging"
    target = serving.route_inference(deps, publisher, "churn", "1.0.0")
    assert (target.version, target.endpoint) == ("1.0.0", "mp-dev-churn-staging")
    assert serving.route_inference(deps, publisher, "churn", "staging").endpoint == "mp-dev-churn-staging"
    moved = governance.set_alias(deps, publisher, "churn", "staging", "1.1.0")
    assert moved.endpoint is None
    with pytest.raises(NotDeployed, match="staging \\(1.1.0\\) is not deployed"):
        serving.route_inference(deps, publisher, "churn", "staging")


def test_inference_routing_errors_name_the_target(deps, publisher, churn):
    with pytest.raises(NotDeployed, match="no 'production' alias"):
        serving.route_inference(deps, publisher, "churn")
    with pytest.raises(ModelNotFound, match="ghost"):
        serving.route_inference(deps, publisher, "ghost")
    with pytest.raises(VersionNotFound, match="2.x"):
        serving.route_inference(deps, publisher, "churn", "2.x")
    publish(deps, publisher, "2.0.0")
    with pytest.raises(NotDeployed, match="churn 2.0.0 is not deployed"):
        serving.route_inference(deps, publisher, "churn", "2.x")
    with pytest.raises(Forbidden):
        serving.route_inference(deps, ctx_for("consumer", patterns=("fraud",)), "churn")


def test_bad_alias_names(deps, publisher, churn):
    publish(deps, publisher, "1.0.0")
    for bad in ["latest", "Prod", "1abc", "a" * 40]:
        with pytest.raises(Exception, match="alias name"):
            governance.set_alias(deps, publisher, "churn", bad, "1.0.0")
