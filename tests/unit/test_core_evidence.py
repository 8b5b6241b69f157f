"""Evidence packs: what they hold, that they verify offline, and that an edit is named."""

import copy
import json

import pytest

from functions.core import deployments, evidence, governance, registry
from functions.core.deployments import NewDeployment
from functions.core.errors import Forbidden, VersionNotFound
from functions.core.evidence_check import verify_pack
from functions.core.evidence_html import render
from functions.core.models import Lineage, ModelCard, NewVersion
from functions.core.ports import StoredObject
from tests.unit.conftest import ctx_for
from tests.workflows.unit.test_deployments_core import RULES, Starter

CARD = ModelCard(intended_use="retention offers", limitations="EU customers only", evaluation="auc on 2024 Q4",
                 training_data="CRM 2024")
SHA = "ab" * 32
DEPLOY = deployments.workflow_context("wf")


def publish(deps, ctx, version, metrics, **lineage):
    registry.publish_version(deps, ctx, "churn", NewVersion(version=version, sha256=SHA, size=3, card=CARD,
                                                            metrics=metrics, lineage=Lineage(**lineage)))
    deps.artifacts.objects[f"s3://artifacts/models/churn/{version}/model.tar.gz"] = StoredObject(sha256=SHA, size=3)
    governance.submit(deps, ctx, "churn", version)


def deploy(deps, publisher, version):
    started = deployments.start_deployment(deps, publisher, RULES, Starter(), "churn",
                                           NewDeployment(version=version, alias="production"))
    governance.set_alias(deps, DEPLOY, "churn", "production", version, endpoint=started.endpoint,
                         deployment_id=started.id)
    deployments.succeed(deps, DEPLOY, "churn", started.id)
    return started.id


@pytest.fixture
def story(deps, publisher, approver, churn):
    """1.0.0 in production, then 1.0.1 (a better one) replaces it; an edit of the policy in between."""
    publish(deps, publisher, "1.0.0", {"auc": 0.81, "accuracy": 0.9})
    governance.approve(deps, approver, "churn", "1.0.0", comment="first")
    first = deploy(deps, publisher, "1.0.0")
    deps.clock.advance(days=3)
    from functions.core import lifecycle

    lifecycle.update_model(deps, publisher, "churn", {"description": "who leaves"}, if_match="*")
    publish(deps, publisher, "1.0.1", {"auc": 0.86, "accuracy": 0.91}, code_revision="git:4f2c1e9",
            dataset_uri="s3://datasets/churn/2025.csv", dataset_sha256="cd" * 32, parent_version="1.0.0")
    governance.approve(deps, approver, "churn", "1.0.1", comment="better on Q4")
    deps.clock.advance(days=2)
    second = deploy(deps, publisher, "1.0.1")
    deps.clock.advance(days=1)
    return {"first": first, "second": second}


def pack_of(deps, version="1.0.1"):
    return evidence.build_pack(deps, ctx_for("approver", id="auditor000000000", owner="audit"), "churn", version)


def test_the_pack_holds_the_versions_record(deps, approver, story):
    pack = pack_of(deps)
    assert pack["format"] == "modelport-evidence/1"
    assert pack["card"]["limitations"] == "EU customers only"
    assert pack["lineage"] == {"dataset_uri": "s3://datasets/churn/2025.csv", "dataset_sha256": "cd" * 32,
                               "code_revision": "git:4f2c1e9", "parent_version": "1.0.0", "training_job": None,
                               **{k: None for k in pack["lineage"] if k not in (
                                   "dataset_uri", "dataset_sha256", "code_revision", "parent_version", "training_job")}}
    evaluation = pack["evaluation"]
    assert (evaluation["replaced_version"], evaluation["basis"]) == ("1.0.0", "production")
    auc = next(r for r in evaluation["comparison"] if r["metric"] == "auc")
    assert (auc["value"], auc["replaced"], round(auc["delta"], 6)) == (0.86, 0.81, 0.05)
    assert [(a["by"], a["comment"]) for a in pack["approvals"]] == [(approver.actor.id, "better on Q4")]
    assert [(d["id"], d["status"]) for d in pack["deployments"]] == [(story["second"], "succeeded")]
    [period] = pack["production_periods"]
    assert (period["alias"], period["deployment_id"], period["end"]) == ("production", story["second"], None)
    assert pack["monitoring"] == []  # nothing monitored: the section is there, empty
    actions = [e["action"] for e in pack["audit"]["events"]]
    assert {"model.create", "model.update", "version.publish", "version.submit", "version.approve",
            "deployment.start", "alias.set", "deployment.succeed"} <= set(actions)
    # the deployment of 1.0.0 is not this version's; its publication is there (the evaluation's baseline)
    assert not any(e["target"].endswith(story["first"]) for e in pack["audit"]["events"])
    assert any(e["action"] == "version.publish" and e["target"] == "churn@1.0.0" for e in pack["audit"]["events"])
    proof = pack["audit"]["proof"]
    assert proof["head"]["seq"] == len(deps.store.events_of("churn"))
    assert [link["seq"] for link in proof["links"]] == list(range(proof["from_seq"], proof["head"]["seq"] + 1))
    text = json.dumps(pack)
    assert "secret_hash" not in text and "mp_" not in text


def test_the_version_it_replaced_was_in_production_before_it(deps, story):
    older = pack_of(deps, "1.0.0")
    assert older["evaluation"]["replaced_version"] is None  # the first production version
    assert [p["end"] is not None for p in older["production_periods"]] == [True]
    assert verify_pack(older).ok, verify_pack(older).mismatches


def test_a_pack_verifies_offline(deps, story):
    report = verify_pack(pack_of(deps))
    assert report.ok, report.mismatches
    assert any("chain proof" in c for c in report.checked) and any("production periods" in c for c in report.checked)


def edit(pack, change):
    edited = copy.deepcopy(pack)
    change(edited)
    return edited


def _event(pack, action):
    return next(e for e in pack["audit"]["events"] if e["action"] == action and e["target"] == "churn@1.0.1")


def _set(obj, key, value):
    obj[key] = value


EDITS = {
    "card": lambda p: _set(p["card"], "limitations", "none"),
    "lineage": lambda p: _set(p["lineage"], "code_revision", "git:0000000"),
    "metrics": lambda p: _set(p["metrics"], "auc", 0.99),
    "version.artifact": lambda p: _set(p["version"]["artifact"], "sha256", "ef" * 32),
    "approvals": lambda p: _set(p["approvals"][0], "comment", "rubber stamp"),
    "deployments": lambda p: _set(p["deployments"][0], "alias", "staging"),
    "production_periods": lambda p: _set(p["production_periods"][0], "start", "2020-01-01T00:00:00Z"),
    "model.settings": lambda p: _set(p["model"]["settings"]["policy"], "require_approval", False),
    "evaluation": lambda p: _set(p["evaluation"]["replaced_metrics"], "auc", 0.5),
    "audit.events": lambda p: _set(_event(p, "version.approve"), "details",
                                   _event(p, "version.approve")["details"].replace("better", "worse")),
    "audit.proof": lambda p: _set(p["audit"]["proof"]["links"][1], "actor", "someone else"),
    "secrets": lambda p: _set(p["card"], "limitations", "secret_hash=abc"),
}


@pytest.mark.parametrize("section", sorted(EDITS))
def test_an_edited_pack_names_what_no_longer_matches(deps, story, section):
    pack = pack_of(deps)
    report = verify_pack(edit(pack, EDITS[section]))
    assert not report.ok
    assert section in {m.section for m in report.mismatches}, report.mismatches


def test_removing_or_reordering_events_breaks_the_proof(deps, story):
    pack = pack_of(deps)
    dropped = edit(pack, lambda p: p["audit"]["proof"]["links"].pop(3))
    assert "audit.proof" in {m.section for m in verify_pack(dropped).mismatches}
    truncated = edit(pack, lambda p: p["audit"]["proof"]["links"].pop())
    assert any("not at the head" in m.message for m in verify_pack(truncated).mismatches)
    forged = edit(pack, lambda p: _set(p["audit"]["proof"]["head"], "hash", "0" * 64))
    assert "audit.proof" in {m.section for m in verify_pack(forged).mismatches}
    # an event recomputed to match its details is still not the chain's event
    def recompute(p):
        from functions.core.audit import chain_hash, sha256_hex

        event = _event(p, "version.approve")
        event["details"] = event["details"].replace("better", "worse")
        event["digest"] = sha256_hex(event["details"])
        event["hash"] = chain_hash({k: event[k] for k in ("chain", "seq", "actor", "action", "target",
                                                          "request_id", "time", "digest", "prev_hash")})
    report = verify_pack(edit(pack, recompute))
    assert any("is not the chain's event" in m.message for m in report.mismatches)
    assert not verify_pack({"format": "something else"}).ok
    assert "structure" in {m.section for m in verify_pack(edit(pack, lambda p: p.pop("audit"))).mismatches}


def test_the_document_is_readable_and_deterministic(deps, story):
    pack = pack_of(deps)
    html = render(pack)
    assert html == render(copy.deepcopy(pack))
    for text in ("Evidence pack: churn 1.0.1", "EU customers only", "better on Q4", story["second"], "<svg",
                 "no monitoring summaries", pack["audit"]["proof"]["head"]["hash"]):
        assert text in html
    hostile = edit(pack, lambda p: _set(p["card"], "intended_use", "<script>alert(1)</script>"))
    assert "<script>" not in render(hostile) and "&lt;script&gt;" in render(hostile)


def test_who_may_export_and_unknown_versions(deps, publisher, story):
    with pytest.raises(Forbidden):
        evidence.build_pack(deps, publisher, "churn", "1.0.1")
    with pytest.raises(VersionNotFound):
        pack_of(deps, "9.9.9")


def test_monitoring_summaries_are_in_the_pack_where_they_exist(deps, publisher, approver, churn):
    from functions.core import monitoring

    publish(deps, publisher, "1.0.0", {"accuracy": 0.9}, baseline_sha256="ef" * 32)
    governance.approve(deps, approver, "churn", "1.0.0")
    deploy(deps, publisher, "1.0.0")
    ctx = monitoring.workflow_context("mon")
    run = monitoring.open_run(deps, ctx, "churn", "production", source="schedule", stage="test")
    monitoring.finish(deps, ctx, "churn", run.id, {"status": "drift", "rows": 120, "records": 120,
                                                   "drifted_features": ["tenure"], "scores": {"tenure": 0.41}},
                      report_json=None, report_html=None, action="alert")
    pack = pack_of(deps, "1.0.0")
    [summary] = pack["monitoring"]
    assert (summary["id"], summary["outcome"], summary["drifted_features"]) == (run.id, "drift", ["tenure"])
    assert {"monitoring.start", "monitoring.drift"} <= {e["action"] for e in pack["audit"]["events"]}
    assert "tenure" in render(pack)
    assert verify_pack(pack).ok
