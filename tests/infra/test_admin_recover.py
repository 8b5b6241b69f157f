"""`modelport admin bootstrap --recover --stack ...`: a way back in for a deployment with no
working admin key, with IAM credentials that can write the table (issue 11)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from functions.adapters.schema import create_tables
from functions.core.apikeys import authenticate
from modelport.admin import BootstrapRefused, bootstrap, recover
from tests.infra.test_admin_bootstrap import OUTPUTS, _deps, _keys


@pytest.fixture
def session(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        create_tables(session.client("dynamodb"), table_name="meta", audit_table_name="audit")
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in OUTPUTS.items()},
        }
        session.client("cloudformation").create_stack(StackName="Modelport-dev-Api", TemplateBody=json.dumps(template))
        yield session


def _lock_out(session, key_id: str) -> None:
    """What a deployment from before the rule (or an edit by hand) can look like: revoked."""
    db = session.client("dynamodb")
    key = {"PK": {"S": f"KEY#{key_id}"}, "SK": {"S": "META"}}
    data = json.loads(db.get_item(TableName="meta", Key=key)["Item"]["data"]["S"])
    data["revoked_at"] = "2025-01-01T00:00:00Z"
    db.update_item(TableName="meta", Key=key, UpdateExpression="SET #d = :d",
                   ExpressionAttributeNames={"#d": "data"}, ExpressionAttributeValues={":d": {"S": json.dumps(data)}})


def test_recover_refuses_while_an_admin_key_works(session):
    first = bootstrap(session, "Modelport-dev-Api")
    with pytest.raises(BootstrapRefused, match=f"admin key {first.info.key_id}.*is active"):
        recover(session, "Modelport-dev-Api")
    assert len(_keys(session)) == 1


def test_recover_issues_a_new_admin_key_audited_with_the_callers_identity(session):
    first = bootstrap(session, "Modelport-dev-Api")
    _lock_out(session, first.info.key_id)
    created = recover(session, "Modelport-dev-Api", owner="ops")
    principal = authenticate(_deps(session), f"Bearer {created.token}")
    assert principal.id == created.info.key_id and principal.owner == "ops"
    events = session.client("dynamodb").scan(TableName="audit")["Items"]
    recovered = [e for e in events if e["action"]["S"] == "key.recover"]
    assert len(recovered) == 1
    assert "arn:aws:sts::" in recovered[0]["details"]["S"] or "arn:aws:iam::" in recovered[0]["details"]["S"]
    assert created.token.split("_", 2)[2] not in json.dumps(events)


def test_the_cli_flag(session):
    from modelport.cli.main import app

    first = bootstrap(session, "Modelport-dev-Api")
    runner = CliRunner()
    refused = runner.invoke(app, ["admin", "bootstrap", "--recover", "--stack", "Modelport-dev-Api"])
    assert refused.exit_code != 0 and "is active" in refused.output
    _lock_out(session, first.info.key_id)
    result = runner.invoke(app, ["admin", "bootstrap", "--recover", "--stack", "Modelport-dev-Api", "--json"])
    assert result.exit_code == 0, result.output
    token = json.loads(result.output)["token"]
    assert authenticate(_deps(session), f"Bearer {token}").owner == "admin"
