"""`modelport admin bootstrap`: one admin key from the stack's outputs, never a second."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from functions.adapters.schema import create_tables
from functions.core.apikeys import authenticate, hash_secret
from functions.core.ports import Deps
from modelport.admin import BootstrapRefused, bootstrap

OUTPUTS = {"Stage": "dev", "TableName": "meta", "AuditTableName": "audit", "ArtifactsBucketName": "artifacts"}


@pytest.fixture
def session(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        create_tables(session.client("dynamodb"), table_name="meta", audit_table_name="audit")
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in OUTPUTS.items()},
        }
        session.client("cloudformation").create_stack(StackName="Modelport-dev-Api", TemplateBody=json.dumps(template))
        yield session


def test_first_run_creates_an_admin_key_stored_only_as_a_hash(session):
    created = bootstrap(session, "Modelport-dev-Api", owner="ops")
    assert created.token.startswith(f"mp_{created.info.key_id}_")
    assert "admin" in [str(getattr(r, "value", r)) for r in created.info.roles]
    items = session.client("dynamodb").scan(TableName="meta")["Items"]
    dumped = json.dumps(items)
    secret = created.token.split("_", 2)[2]
    assert secret not in dumped
    assert hash_secret(created.info.key_id, secret) in dumped
    assert session.client("dynamodb").scan(TableName="audit")["Count"] == 1


def test_the_key_authenticates_against_the_same_table(session):
    from functions.adapters.settings import ControlPlaneSettings
    from functions.adapters.wiring import build_deps

    created = bootstrap(session, "Modelport-dev-Api")
    settings = ControlPlaneSettings(stage="dev", table_name="meta", audit_table_name="audit", artifacts_bucket="artifacts")
    deps: Deps = build_deps(settings, session.client)
    principal = authenticate(deps, f"Bearer {created.token}")
    assert principal.id == created.info.key_id


def test_second_run_refuses_and_writes_nothing(session):
    bootstrap(session, "Modelport-dev-Api")
    before = session.client("dynamodb").scan(TableName="meta")["Count"]
    with pytest.raises(BootstrapRefused, match="already has API keys"):
        bootstrap(session, "Modelport-dev-Api")
    assert session.client("dynamodb").scan(TableName="meta")["Count"] == before


def test_a_stack_without_the_outputs_is_named_as_wrong(session):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    session.client("cloudformation").create_stack(StackName="Modelport-dev-Data", TemplateBody=json.dumps(template))
    with pytest.raises(ValueError, match="no output.*Stage.*pass the Api stack"):
        bootstrap(session, "Modelport-dev-Data")
