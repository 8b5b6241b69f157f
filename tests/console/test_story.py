"""The demo's story in the browser: the publisher's self-approval is refused, the approver
approves, a canary deployment is watched to the end, the audit trail is verified (and a
tampered event is named). A screenshot of each page goes to the run's temporary directory."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from modelport import Client

MODEL = "churn"
CARD = {
    "intended_use": "Rank customers by churn risk for retention offers; not for pricing decisions.",
    "limitations": "Synthetic training data; four numeric features only.",
    "evaluation": "Holdout accuracy and F1 from the reference trainer.",
    "training_data": "Generated churn table, 20% holdout.",
}


def python_model(root: Path, offset: float) -> Path:
    """A predictor of four numeric features (numpy only: it packs and starts in a blink)."""
    root.mkdir(parents=True)
    (root / "predictor.py").write_text(
        "import numpy as np\n\ndef load(model_dir):\n    pass\n\n"
        f"def predict(batch):\n    return (np.asarray(batch, dtype=float).sum(axis=1) > {offset!r}).astype(int)\n"
    )
    return root


def lineage(n: int, parent: str | None) -> dict:
    uri = f"s3://modelport-local-datasets/datasets/{MODEL}/churn-{n}.csv"
    return {"dataset_uri": uri, "dataset_sha256": hashlib.sha256(uri.encode()).hexdigest(),
            "code_revision": f"git:4f2a9c{n}", "training_job": f"mp-local-{MODEL}-train-{n}",
            **({"parent_version": parent} if parent else {})}


@pytest.fixture(scope="module")
def team(platform, admin: Client):
    alice = admin.keys.create({"owner": "alice@data-science", "roles": ["publisher", "approver"], "patterns": [f"{MODEL}*"]})
    bob = admin.keys.create({"owner": "bob@governance", "roles": ["approver"]})
    clients = {"alice": Client(platform.api_url, alice.token), "bob": Client(platform.api_url, bob.token)}
    # a predictor of its own runs code: allowing that loosens the policy, which an admin does
    admin.models.create({
        "name": MODEL, "owner": "alice@data-science", "framework": "python",
        "description": "Which customers are about to leave",
        "policy": {"metric": "accuracy", "metric_direction": "maximize", "min_improvement": 0.01, "allow_code": True},
    })  # fmt: skip
    yield {"alice": alice.token, "bob": bob.token, **{f"{k}_client": v for k, v in clients.items()}}
    for client in clients.values():
        client.close()


def test_the_governance_story(tab, team, shots, tmp_path, platform):
    alice, bob = team["alice_client"], team["bob_client"]
    began = time.perf_counter()

    def mark(what: str) -> None:
        print(f"{time.perf_counter() - began:6.1f} s  {what}")
    alice.push(MODEL, python_model(tmp_path / "v1", 1.0), version="1.0.0", card=CARD, lineage=lineage(1, None),
               metrics={"accuracy": 0.81, "f1": 0.78})
    alice.versions.submit(MODEL, "1.0.0")

    mark('# the publisher signs in;')
    # the publisher signs in; the key stays in this tab's sessionStorage only
    a = tab()
    shots(a.open(), "signin")
    page = a.sign_in(team["alice"])
    page.get_by_role("link", name=MODEL, exact=True).wait_for()
    assert page.evaluate("sessionStorage.getItem('modelport.apiKey')") == team["alice"]
    assert page.evaluate("localStorage.length") == 0 and team["alice"] not in page.url
    assert page.evaluate("document.cookie") == ""
    page.get_by_role("row", name=re.compile(r"churn.*alice@data-science")).get_by_text("pending approval").wait_for()
    shots(page, "catalog")

    mark('# ... and her own')
    # ... and her own version's approval is refused before she clicks
    a.open("#/approvals?model=churn&version=1.0.0")
    notice = page.locator("#four-eyes")
    notice.wait_for()
    assert "you cannot approve" in notice.inner_text()
    assert page.get_by_role("button", name="Approve").is_disabled()
    assert page.get_by_role("button", name="Reject").is_enabled()
    shots(page, "approvals-four-eyes")

    mark('# sign-out forgets')
    # sign-out forgets the key
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    mark('# the approver approves')
    # the approver approves with a comment
    b = tab()
    page = b.sign_in(team["bob"])
    b.open("#/approvals")
    page.get_by_role("link", name=re.compile("^churn 1.0.0")).click()
    page.get_by_role("heading", name="churn 1.0.0").wait_for()
    page.get_by_text("this would be the first production version").wait_for()
    page.get_by_label(re.compile("^Comment")).fill("holdout metrics reviewed")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("churn 1.0.0 is now approved.").wait_for()
    shots(page, "approvals-approved")
    assert bob.versions.get(MODEL, "1.0.0").history[-1].comment == "holdout metrics reviewed"

    mark('first = alice.deployments')
    first = alice.deployments.start(MODEL, "1.0.0", strategy="all_at_once:0s")
    assert alice.deployments.wait(MODEL, first.id, timeout_s=120).status.value == "succeeded"

    mark('# a retrained version')
    # a retrained version: the approver sees it against production and what changed
    alice.push(MODEL, python_model(tmp_path / "v2", 2.0), version="1.0.1", card={**CARD, "limitations": "Drifted prices."},
               lineage=lineage(2, "1.0.0"), metrics={"accuracy": 0.86, "f1": 0.75})
    alice.versions.submit(MODEL, "1.0.1")
    b.open("#/approvals?model=churn&version=1.0.1")
    page.get_by_role("heading", name="churn 1.0.1").wait_for()
    versus = page.locator("table.versus")
    versus.get_by_text("+0.05 better").wait_for()
    assert "production 1.0.0" in versus.inner_text().lower() and "−0.03 worse" in versus.inner_text()
    changes = page.locator("table.changes").inner_text()
    assert "lineage: dataset uri" in changes and "churn-2.csv" in changes and "Drifted prices." in changes
    shots(page, "approvals-review")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("churn 1.0.1 is now approved.").wait_for()

    mark('# the publisher starts a canar')
    # the publisher starts a canary from the console and watches it to the end
    page = a.sign_in(team["alice"])
    a.open("#/deploy?model=churn&version=1.0.1")
    # the select is drawn before the model's versions arrive: wait for the value, not the element
    expect(page.get_by_label("Version")).to_have_value("1.0.1", timeout=30_000)
    options = page.get_by_label("Instance type").locator("option").all_inner_texts()
    assert "ml.m5.large" in options and "ml.g5.xlarge" in options
    page.get_by_label("Instance type").select_option("ml.m5.large")
    page.get_by_role("radio", name="Canary").check()
    page.get_by_label("Canary share (%)").fill("20")
    page.get_by_label("Bake (seconds)").fill("4")
    shots(page, "deployment-start")
    page.get_by_role("button", name="Deploy").click()
    page.get_by_role("heading", name=re.compile("^Deployment ")).wait_for()
    share = page.locator("#traffic-share")
    share.get_by_text("20% of traffic on 1.0.1").wait_for(timeout=60_000)
    assert re.search(r"baking: \d+ s left", page.locator("#bake-countdown").inner_text())
    assert page.get_by_role("img", name=re.compile("20% of traffic on 1.0.1, 80% on 1.0.0")).is_visible()
    shots(page, "deployment-canary")
    page.get_by_text("Succeeded: production serves 1.0.1").wait_for(timeout=60_000)
    steps = page.locator("ol.steps").inner_text()
    assert all(step in steps for step in ("update endpoint", "wait endpoint", "move alias", "done"))
    shots(page, "deployment-done")
    a.open("#/deployments?model=churn")
    page.locator("table tbody tr").nth(1).wait_for()
    assert page.locator("table tbody tr").nth(0).get_by_text("succeeded").is_visible()
    shots(page, "deployments")

    mark('# the model page')
    # the model page: versions, card, metrics across versions, lineage as a graph
    a.open("#/models/churn")
    page.get_by_role("row", name=re.compile(r"^1\.0\.1 approved production")).wait_for()
    shots(page, "model-versions")
    a.open("#/models/churn/metrics")
    page.locator(".chart-canvas canvas").first.wait_for()
    assert "0.86" in page.locator("table.metrics").inner_text()
    shots(page, "model-metrics")
    a.open("#/models/churn/lineage")
    graph = page.get_by_role("group", name=re.compile("^Lineage graph"))
    graph.wait_for()
    assert graph.locator("g.node").count() == 2 and graph.locator("path.edge").count() == 1
    page.get_by_role("button", name=re.compile("^version 1.0.0")).focus()
    page.keyboard.press("Enter")
    page.locator(".lineage-detail").get_by_text("churn-1.csv", exact=False).wait_for()
    shots(page, "model-lineage")
    a.open("#/models/churn/card/1.0.1")
    page.get_by_text("Drifted prices.").wait_for()
    shots(page, "model-card")
    a.open("#/models/churn/policy")
    page.get_by_text("accuracy (maximize)").wait_for()

    # production history: what served when, and what served at a given moment
    a.open("#/models/churn/history")
    rows = page.locator("table.history tbody tr")
    rows.nth(1).wait_for()
    assert rows.count() == 2 and rows.nth(0).inner_text().startswith("1.0.1") and "now" in rows.nth(0).inner_text()
    assert rows.nth(1).inner_text().startswith("1.0.0") and "system:deploy" in rows.nth(1).inner_text()
    assert page.get_by_role("img", name=re.compile(r"^Timeline of production: 1\.0\.1 from .* until now; 1\.0\.0 from")).is_visible()
    moment = page.evaluate("""() => { const d = new Date(Date.now() - 1000); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
                                      return d.toISOString().slice(0, 19); }""")
    page.get_by_label("What served at (your local time)").fill(moment)
    page.get_by_role("button", name="Look up").click()
    page.locator("#served-at-answer").get_by_text("production pointed at 1.0.1").wait_for()
    shots(page, "model-history")

    mark('# the approver verifies')
    # the approver verifies the audit trail; an edited event is named
    b.open("#/audit?chain=churn")
    page = b.page
    page.get_by_role("button", name="Verify churn").click()
    page.locator("#verify-result").get_by_text("Intact: 1 chain verified").wait_for()
    assert "hash chain intact" in page.locator("#verify-result").inner_text()
    page.get_by_label("Action").select_option("version.approve")
    assert page.locator("table.events tbody tr").count() == 2
    shots(page, "audit-verified")
    db = platform.client("dynamodb")
    item = db.get_item(TableName=platform.names.audit_table, Key={"PK": {"S": "CHAIN#churn"}, "SK": {"S": f"{3:012d}"}})["Item"]
    item["details"] = {"S": item["details"]["S"] + " "}
    db.put_item(TableName=platform.names.audit_table, Item=item)
    page.get_by_role("button", name="Verify churn").click()
    result = page.locator("#verify-result")
    result.get_by_text("first bad event 3").wait_for()
    assert "does not verify" in result.inner_text() and "event 3 details do not match its digest" in result.inner_text()
    shots(page, "audit-tampered")
