"""Governance records through the SDK (issue 12): production history, ..."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelport import Client
from modelport.client import InvalidInputError, NotFoundError
from tests.sdk.test_client import CARD, predictor_dir


def test_alias_history_and_at(admin: Client, tmp_path, unique: str) -> None:
    name = f"hist-{unique}"
    admin.models.create({"name": name, "owner": "tests", "framework": "python",
                         "policy": {"require_approval": False}})
    for i, version in enumerate(("1.0.0", "1.1.0", "1.2.0")):
        admin.push(name, predictor_dir(tmp_path / str(i), float(i)), version=version, card=CARD)
        admin.aliases.set(name, "production", version)
    periods = list(admin.aliases.history(name, page_size=2))  # two pages
    assert [p.version for p in periods] == ["1.2.0", "1.1.0", "1.0.0"]
    middle = periods[1]
    assert admin.aliases.at(name, "production", middle.start) == middle
    assert admin.aliases.at(name, "production", middle.end).version == "1.2.0"
    assert admin.aliases.at(name, "production", (middle.end - timedelta(microseconds=1)).isoformat()) == middle
    assert admin.aliases.at(name, "production", periods[-1].start - timedelta(seconds=1)) is None
    with pytest.raises(InvalidInputError):
        admin.aliases.at(name, "production", datetime(2025, 1, 1))  # refused before sending
    with pytest.raises(NotFoundError) as unknown:
        admin.aliases.at(name, "staging", periods[0].start)
    assert unknown.value.code == "AliasNotFound"


def test_model_lifecycle(admin: Client, key_for, unique: str) -> None:
    from modelport.client import ConflictError, PermissionDeniedError, PreconditionFailedError
    from modelport.client.shapes import Model, ModelChange

    name = f"life-{unique}"
    alice = key_for(["publisher"], owner=f"alice-{unique}")
    alice.models.create({"name": name, "owner": "ds", "framework": "onnx"})
    model = alice.models.update(name, {"description": "churn", "policy": {"metric": "auc"}})  # reads the revision
    assert isinstance(model, Model) and (model.revision, model.policy.metric) == (2, "auc")
    with pytest.raises(PreconditionFailedError) as stale:
        alice.models.update(name, {"description": "lost"}, revision=1)
    assert (stale.value.status, stale.value.code) == (412, "PreconditionFailed")
    with pytest.raises(PermissionDeniedError):
        alice.models.update(name, {"policy": {"allow_pickle": True}})
    carol = key_for(["approver"], owner=f"carol-{unique}")
    pending = carol.models.update(name, {"policy": {"allow_pickle": True}}, revision=2)
    assert isinstance(pending, ModelChange) and pending.loosened[0]["field"] == "policy.allow_pickle"
    assert [c.id for c in alice.models.changes(name)] == [pending.id]
    with pytest.raises(PermissionDeniedError) as own:
        carol.models.confirm(name, pending.id)
    assert own.value.code == "FourEyesViolation"
    applied = admin.models.confirm(name, pending.id, comment="legacy pickles")
    assert applied.status == "applied" and alice.models.get(name).policy.allow_pickle is True
    assert alice.models.retire(name, reason="done").status == "retired"
    with pytest.raises(ConflictError) as retired:
        alice.models.update(name, {"description": "x"})
    assert retired.value.code == "ModelRetired"
    assert name in [m.name for m in admin.models.list(status="retired")]
    assert name not in [m.name for m in admin.models.list()]


def test_revalidation_through_the_sdk(admin: Client, key_for, tmp_path, unique: str) -> None:
    name = f"reval-{unique}"
    admin.models.create({"name": name, "owner": "tests", "framework": "python", "policy": {"revalidation_days": 1}})
    publisher = key_for(["publisher"], owner=f"pub-{unique}")
    approver = key_for(["approver"], owner=f"appr-{unique}")
    publisher.push(name, predictor_dir(tmp_path), version="1.0.0", card=CARD)
    publisher.versions.submit(name, "1.0.0")
    approver.versions.approve(name, "1.0.0")
    publisher.aliases.set(name, "production", "1.0.0")
    model = admin.models.get(name)
    assert model.production.version == "1.0.0" and not model.revalidation_overdue
    assert (model.production.revalidate_by - model.production.validated_at).days == 1
    assert name not in [m.name for m in admin.models.list(overdue=True)]
    revalidated = approver.versions.revalidate(name, "1.0.0", comment="still fit")
    assert revalidated.revalidations[-1].comment == "still fit"
    assert admin.models.get(name).production.validated_at == revalidated.revalidations[-1].at


def test_evidence_through_the_sdk(admin: Client, key_for, tmp_path, unique: str) -> None:
    from modelport.client.evidence import verify_zip

    name = f"ev-{unique}"
    admin.models.create({"name": name, "owner": "tests", "framework": "python"})
    publisher = key_for(["publisher"], owner=f"pub-{unique}")
    approver = key_for(["approver"], owner=f"appr-{unique}")
    publisher.push(name, predictor_dir(tmp_path), version="1.0.0", card=CARD, metrics={"accuracy": 0.9})
    publisher.versions.submit(name, "1.0.0")
    approver.versions.approve(name, "1.0.0", comment="ok")
    pack = approver.evidence.get(name, "1.0.0")
    assert pack["metrics"] == {"accuracy": 0.9} and pack["approvals"][0]["comment"] == "ok"
    html = approver.evidence.html(name, "1.0.0")
    assert html.startswith("<!doctype html>") and f"Evidence pack: {name} 1.0.0" in html
    path = approver.evidence.export(name, "1.0.0", tmp_path / "out" / "pack.zip")
    report = verify_zip(path)
    assert report.ok, report.mismatches
    with pytest.raises(NotFoundError):
        approver.evidence.get(name, "2.0.0")


def test_key_rotation_through_the_sdk(admin: Client, key_for, unique: str) -> None:
    from modelport.client import AuthenticationError, PermissionDeniedError

    owner = f"app-{unique}"
    holder = key_for(["consumer"], patterns=["churn*"], owner=owner)
    list(holder.models.list())
    rotated = admin.keys.rotate(holder.key_id, grace_period_hours=0, description="rotated by the SDK test")
    assert (rotated.key.owner, rotated.key.description, rotated.previous.rotated_to) == (
        owner, "rotated by the SDK test", rotated.key.key_id)
    with pytest.raises(AuthenticationError):
        list(holder.models.list())
    with Client(admin.url, rotated.token) as successor:
        assert isinstance(list(successor.models.list()), list)
        with pytest.raises(PermissionDeniedError):
            successor.keys.rotate(rotated.key.key_id, grace_period_hours=1)
    assert {k.key_id for k in admin.keys.list(owner=owner)} == {holder.key_id, rotated.key.key_id}
