"""`modelport admin bootstrap`: one admin key from the stack's outputs, never a second."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from moto import mock_aws

from functions.adapters.schema import create_tables
from functions.core.apikeys import BOOTSTRAP_KEY, CreatedKey, authenticate, hash_secret
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


def _keys(session) -> list[dict]:
    items = session.client("dynamodb").scan(TableName="meta")["Items"]
    return [item for item in items if item["PK"]["S"].startswith("KEY#")]


def test_two_simultaneous_first_runs_create_exactly_one_key(session):
    """Both runs read the (empty) state before either commits; DynamoDB then runs the two
    transactions one after the other, as it does with conflicting transactions."""
    both_read = threading.Barrier(2, timeout=30)
    one_at_a_time = threading.Lock()
    waited: list[str] = []
    local = threading.local()

    def before_commit(**_):
        if not getattr(local, "waited", False):
            local.waited = True
            both_read.wait()
            waited.append(threading.current_thread().name)
        assert one_at_a_time.acquire(timeout=30)

    def after_commit(**_):
        one_at_a_time.release()

    results: dict[str, object] = {}

    def run(name: str) -> None:
        own = boto3.session.Session(region_name="us-east-1")  # sessions are not shared between threads
        own.events.register("before-call.dynamodb.TransactWriteItems", before_commit)
        own.events.register("after-call.dynamodb.TransactWriteItems", after_commit)
        try:
            results[name] = bootstrap(own, "Modelport-dev-Api", owner=name)
        except BootstrapRefused as refused:
            results[name] = refused

    threads = [threading.Thread(target=run, args=(f"run-{i}",), name=f"run-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(waited) == ["run-0", "run-1"]  # both were about to commit a first key
    created = [r for r in results.values() if isinstance(r, CreatedKey)]
    refused = [r for r in results.values() if isinstance(r, BootstrapRefused)]
    assert len(created) == 1 and len(refused) == 1, results
    keys = _keys(session)
    assert [k["PK"]["S"] for k in keys] == [f"KEY#{created[0].info.key_id}"]
    marker = session.client("dynamodb").get_item(
        TableName="meta", Key={"PK": {"S": BOOTSTRAP_KEY.pk}, "SK": {"S": BOOTSTRAP_KEY.sk}}
    )["Item"]
    assert created[0].info.key_id in marker["data"]["S"]
    assert session.client("dynamodb").scan(TableName="audit")["Count"] == 1
    assert authenticate(_deps(session), f"Bearer {created[0].token}").id == created[0].info.key_id


def test_the_bootstrap_record_refuses_when_the_key_listing_lags(session):
    """DynamoDB's listing index is eventually consistent: a run that does not see the first
    key yet is still refused, by the bootstrap record written with it."""
    first = bootstrap(session, "Modelport-dev-Api")
    db = session.client("dynamodb")
    db.update_item(  # the key as a lagging index would show it: not listed yet
        TableName="meta", Key={"PK": {"S": f"KEY#{first.info.key_id}"}, "SK": {"S": "META"}},
        UpdateExpression="REMOVE GSI1PK, GSI1SK",
    )  # fmt: skip
    with pytest.raises(BootstrapRefused, match="already has its first admin key"):
        bootstrap(session, "Modelport-dev-Api")
    assert len(_keys(session)) == 1
    assert db.scan(TableName="audit")["Count"] == 1


def _deps(session) -> Deps:
    from functions.adapters.settings import ControlPlaneSettings
    from functions.adapters.wiring import build_deps

    settings = ControlPlaneSettings(stage="dev", table_name="meta", audit_table_name="audit", artifacts_bucket="artifacts")
    return build_deps(settings, session.client)
