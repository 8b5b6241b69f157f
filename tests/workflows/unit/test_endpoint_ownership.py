"""Endpoint names and their recorded owners (issue 10, finding 1: endpoint-name collision).

A publisher whose only pattern is `churn` deployed `churn` to alias `x-production`, whose
endpoint name was the one `churn-x`'s production used: the deploy updated that endpoint
in place. Names are now unambiguous and every name is claimed by one (model, alias).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.core import deployments, registry
from functions.core.deployments import NewDeployment
from functions.core.endpoints import EndpointClaim, endpoint_name, require_owner
from functions.core.errors import EndpointNotOwned
from functions.core.models import MODEL_NAME_RE, ModelCard, ModelPolicy, NewModel, NewVersion
from functions.core.mutations import Put, change, commit
from functions.core.records import PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead
from functions.core.semver import ALIAS_RE
from functions.workflows.deploy_plan import resource_name
from tests.unit.conftest import ctx_for
from tests.workflows.unit.test_deployments_core import RULES, Starter

CARD = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def test_model_and_alias_split_differently_give_different_names():
    # the repro: `churn` + `x-production` and `churn-x` + `production` joined to one name
    assert endpoint_name("local", "churn", "x-production") != endpoint_name("local", "churn-x", "production")
    assert endpoint_name("dev", "a-b", "c") != endpoint_name("dev", "a", "b-c")
    assert endpoint_name("dev", "churn", "production") != endpoint_name("prod", "churn", "production")


@pytest.mark.parametrize(("model", "alias"), [("churn", "production"), ("m" * 48, "a" * 32), ("a", "b")])
def test_names_are_valid_bounded_stable_and_readable(model, alias):
    name = endpoint_name("local", model, alias)
    assert SAGEMAKER_NAME.match(name) and len(name) <= 63
    assert name == endpoint_name("local", model, alias)
    assert name.startswith("mp-local-")  # the prefix IAM scopes a stage by
    assert re.search(r"-[0-9a-f]{16}$", name)  # 64 bits of the (stage, model, alias) triple
    if len(model) + len(alias) < 30:
        assert f"-{model}-{alias}-" in name  # readable


@pytest.fixture
def two_models(deps):
    admin = ctx_for("admin", id="admin0000000000a", owner="root")
    for name in ("churn", "churn-x"):
        # production without approval keeps these tests about names (an admin may loosen so)
        registry.create_model(deps, admin, NewModel(name=name, owner="team", framework="sklearn",
                                                    policy=ModelPolicy(require_approval=False)))
        registry.publish_version(deps, admin, name, NewVersion(version="1.0.0", sha256="ab" * 32, size=3, card=CARD))
    return deps


def test_starting_a_deployment_claims_its_endpoint_in_the_same_transaction(two_models, publisher):
    churn_only = ctx_for("publisher", id="pub0000000000000", owner="alice", patterns=("churn",))
    started = deployments.start_deployment(two_models, churn_only, RULES, Starter(), "churn",
                                           NewDeployment(version="1.0.0", alias="x-production"))
    claim = two_models.store.get(EndpointClaim.key_for(started.endpoint), EndpointClaim, consistent=True)
    assert (claim.model, claim.alias, claim.endpoint) == ("churn", "x-production", started.endpoint)
    assert claim.claimed_by == churn_only.actor.id
    # the name churn-x's production gets is another one, claimed by churn-x
    two_models.clock.advance(seconds=1)
    other = deployments.start_deployment(two_models, ctx_for("admin"), RULES, Starter(), "churn-x",
                                         NewDeployment(version="1.0.0", alias="staging"))
    assert other.endpoint != started.endpoint
    require_owner(two_models, started.endpoint, "churn", "x-production")
    with pytest.raises(EndpointNotOwned, match="belongs to churn:x-production"):
        require_owner(two_models, started.endpoint, "churn-x", "production")
    # a second deployment of the same alias (once the first finished: one at a time) keeps the claim
    deployments.fail(two_models, deployments.workflow_context("r"), "churn", started.id, error="E", cause="test")
    two_models.clock.advance(seconds=1)
    again = deployments.start_deployment(two_models, churn_only, RULES, Starter(), "churn",
                                         NewDeployment(version="1.0.0", alias="x-production"))
    assert again.endpoint == started.endpoint


def test_a_name_claimed_by_another_model_is_refused_before_anything_is_written(two_models, monkeypatch):
    # a collision cannot be found for the hashed names; pretend one to test the owner check
    name = endpoint_name(RULES.stage, "churn-x", "production")
    admin = ctx_for("admin")
    deployments.start_deployment(two_models, admin, RULES, Starter(), "churn-x", NewDeployment(version="1.0.0"))
    monkeypatch.setattr(deployments, "endpoint_name", lambda stage, model, alias: name)
    before = len(two_models.store.events_of("churn"))
    starter = Starter()
    with pytest.raises(EndpointNotOwned, match=f"endpoint {name} belongs to churn-x:production"):
        deployments.start_deployment(two_models, admin, RULES, starter, "churn", NewDeployment(
            version="1.0.0", alias="x-production"))
    assert starter.started == [] and len(two_models.store.events_of("churn")) == before


def test_the_claim_is_conditional(two_models):
    """Two first claims of one name (a race): the transaction of the second fails."""
    ctx = ctx_for("admin")
    name = endpoint_name(RULES.stage, "churn", "staging")

    def claim(model: str):
        def build():
            _, head = two_models.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
            record = EndpointClaim.new(name, model, "staging", stage=RULES.stage, by=ctx.actor.id, at=two_models.clock())
            uow = change(two_models, ctx, head, action="test.claim", target=name, details={},
                         writes=[Put(record, if_absent=EndpointNotOwned(f"endpoint {name} is claimed"))])
            return uow, record
        return commit(two_models, build)

    claim("churn")
    with pytest.raises(EndpointNotOwned):
        claim("churn-x")


@settings(max_examples=300, deadline=None)
@given(
    model=st.from_regex(MODEL_NAME_RE, fullmatch=True),
    alias=st.from_regex(ALIAS_RE, fullmatch=True),
    stage=st.sampled_from(["dev", "prod", "local"]),
    other=st.sampled_from(["dev", "prod", "local", "d", "pro"]),
)
def test_no_model_or_alias_reaches_into_another_stages_iam_prefix(model, alias, stage, other):
    """The Lambda roles scope SageMaker by `mp-<stage>-*` (stages have no '-'): no name a
    user chooses gives an endpoint, or a deployment's model/config, inside another stage's."""
    name = endpoint_name(stage, model, alias)
    assert SAGEMAKER_NAME.match(name)
    for sagemaker_name in (name, resource_name(name, "20250101-000000-abcdef")):
        assert fnmatchcase(sagemaker_name, f"mp-{stage}-*")
        assert fnmatchcase(sagemaker_name, f"mp-{other}-*") == (other == stage)
