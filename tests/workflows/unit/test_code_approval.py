"""Approval before code (issue 10, finding 2): no user code runs anywhere unapproved.

A `python` predictor deployed to `staging` ran on the host with no approval, and an
unapproved pickle deployed to `staging` ran a shell command. A version that runs code of
its own (python predictor, pickle, a custom or framework image) now needs the model's
`allow_code` (python, images) or `allow_pickle`, and an approval, whatever the alias.
"""

from __future__ import annotations

import pytest

from functions.core import deployments, governance, policy_rules, registry
from functions.core.deployments import NewDeployment
from functions.core.errors import ApprovalRequired, CodeNotAllowed
from functions.core.models import ModelCard, ModelPolicy, NewModel, NewVersion, VersionStatus
from functions.core.ports import StoredObject
from functions.core.stages import ImageRef
from tests.unit.conftest import ctx_for
from tests.workflows.unit.test_deployments_core import RULES, Starter

CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")
ADMIN = ctx_for("admin", id="admin0000000000a", owner="root")
PUBLISHER = ctx_for("publisher", id="pub0000000000000", owner="alice")
APPROVER = ctx_for("approver", id="appr000000000000", owner="bob")
CUSTOM = ImageRef(uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/rust-model:2.0")
# AWS framework images are refused before any approval question (ImageNotAvailable,
# tests/workflows/unit/test_deployments_core.py), so they have no row here.


def model(deps, name: str, framework: str = "sklearn", **policy) -> None:
    registry.create_model(deps, ADMIN, NewModel(name=name, owner="alice", framework=framework,
                                                policy=ModelPolicy(**policy)))
    published = registry.publish_version(deps, PUBLISHER, name,
                                         NewVersion(version="1.0.0", sha256="ab" * 32, size=3, card=CARD))
    deps.artifacts.objects[published.version.artifact.uri] = StoredObject(sha256="ab" * 32, size=3)


def approve(deps, name: str) -> None:
    governance.submit(deps, PUBLISHER, name, "1.0.0")
    governance.approve(deps, APPROVER, name, "1.0.0")


def deploy(deps, name: str, alias: str = "staging", image: ImageRef | None = None):
    new = NewDeployment(version="1.0.0", alias=alias, image=image)
    return deployments.start_deployment(deps, PUBLISHER, RULES, Starter(), name, new)


@pytest.mark.parametrize(
    ("framework", "policy", "image", "reason"),
    [
        ("python", {"allow_code": True}, None, "python predictor"),
        ("sklearn", {"allow_pickle": True}, None, "pickle"),
        ("sklearn", {"allow_code": True}, CUSTOM, "custom image"),
    ],
)
@pytest.mark.parametrize("alias", ["staging", "dev-alice"])
def test_code_needs_an_approval_on_every_alias(deps, framework, policy, image, reason, alias):
    model(deps, "m", framework, **policy)
    with pytest.raises(ApprovalRequired, match=f"{reason}.*approved before it runs anywhere"):
        deploy(deps, "m", alias, image)
    assert deployments.list_deployments(deps, PUBLISHER, "m").items == []
    approve(deps, "m")
    assert deploy(deps, "m", alias, image).version == "1.0.0"


@pytest.mark.parametrize(("framework", "image"), [("python", None), ("sklearn", CUSTOM)])
def test_code_needs_allow_code_even_approved(deps, framework, image):
    model(deps, "m", framework)
    approve(deps, "m")
    with pytest.raises(CodeNotAllowed, match="policy.allow_code"):
        deploy(deps, "m", "production", image)


def test_safe_formats_still_deploy_unapproved_to_staging(deps):
    model(deps, "m", "sklearn")  # skops: no code of its own
    assert deploy(deps, "m").version == "1.0.0"
    with pytest.raises(ApprovalRequired, match="production needs an approved version"):
        deploy(deps, "m", "production")


def test_the_workflow_checks_again_before_it_creates_anything(deps):
    """Validate re-checks with the version and policy as they are when the workflow runs."""
    model(deps, "m", "python", allow_code=True)
    approve(deps, "m")
    started = deploy(deps, "m")
    stored = registry.require_model(deps, "m")
    version = registry.find_version(deps, "m", registry.VersionSpec.parse("1.0.0"))
    deployments.check_deployable(stored, version, "staging", started.image)
    reasons = policy_rules.runs_code(stored, version, None)
    assert reasons == ("python predictor",)
    unapproved = version.model_copy(update={"status": VersionStatus.pending_approval})
    with pytest.raises(ApprovalRequired):
        deployments.check_deployable(stored, unapproved, "staging", None)
