"""The console's other promises, in the browser: keys (token shown once, copy, revoke), what a
key's roles may not do shown as unavailable, API errors shown as the API said them, values
holding HTML shown as text, the API's cursors, a narrow screen, and its security headers."""

from __future__ import annotations

import re

import httpx

from modelport import Client

EVIL = '<img src=x onerror="window.__pwned=1"><b>bold</b>'


def test_sign_in_errors_are_the_apis_own_words(tab, admin: Client, shots):
    t = tab()
    page = t.open()
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    assert "starts with mp_" in page.locator("#api-key-problem").inner_text()
    assert page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    revoked = admin.keys.create({"owner": "leaver", "roles": ["consumer"]})
    admin.keys.revoke(revoked.key.key_id)
    page.get_by_label("API key").fill(revoked.token)
    page.get_by_label("API key").press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Unauthenticated (401)" in alert.inner_text() and "missing or invalid API key" in alert.inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    shots(page, "signin-refused")


def test_keys_token_shown_once_with_a_copy_button_then_revoked(tab, platform, admin: Client, shots, unique):
    t = tab()
    page = t.sign_in(platform.admin_key)
    t.open("#/keys")
    page.get_by_label("Owner (person or service)").fill(f"svc-{unique}")
    page.get_by_role("checkbox", name="approver").check()
    page.get_by_label("Model patterns").fill("churn*, fraud")
    page.get_by_role("button", name="Create key").click()
    token = page.get_by_label("New API key token").input_value()
    assert re.match(r"^mp_[0-9a-f]{16}_", token)
    created = next(k for k in admin.keys.list() if k.owner == f"svc-{unique}")
    assert token.startswith(f"mp_{created.key_id}_") and created.patterns == ["churn*", "fraud"]
    assert sorted(created.roles) == ["approver", "consumer"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=platform.api_url)
    page.get_by_role("button", name="Copy token").click()
    page.get_by_text("Copied", exact=True).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == token
    shots(page, "keys")
    page.get_by_role("button", name="I have copied it").click()
    assert page.get_by_label("New API key token").count() == 0
    assert token not in page.content()  # shown once: gone from the page
    row = page.get_by_role("row", name=re.compile(created.key_id))
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    row.get_by_text("revoked").wait_for()
    assert next(k for k in admin.keys.list() if k.key_id == created.key_id).revoked_at is not None


def test_what_a_consumer_may_not_do_is_unavailable_before_a_click(tab, admin: Client, shots, unique):
    name = f"shown-{unique}"
    admin.models.create({"name": name, "owner": "ops", "framework": "onnx", "description": EVIL})
    consumer = admin.keys.create({"owner": "reader", "roles": ["consumer"], "patterns": [f"{name}*"]})
    t = tab()
    page = t.sign_in(consumer.token)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Keys").count() == 0 and nav.get_by_role("link", name="Audit").count() == 0
    assert nav.get_by_text("Keys").get_attribute("aria-disabled") == "true"
    t.open(f"#/models/{name}/deployments")
    button = page.get_by_role("button", name="Start a deployment")
    assert button.is_disabled()
    assert "Needs the admin or approver or publisher role; this key has consumer." in page.locator(".unavailable-reason").first.inner_text()
    t.open("#/keys")
    page.get_by_text("Needs the admin role; this key has consumer.").wait_for()
    # the model's description holds HTML: it is shown as text, and nothing of it ran
    t.open(f"#/models/{name}")
    page.get_by_role("heading", name=name).wait_for()
    assert page.locator(".page-head .sub").inner_text() == EVIL
    assert page.locator("main img").count() == 0 and page.locator("main b").count() == 0
    assert page.evaluate("window.__pwned") is None
    shots(page, "unavailable-and-html-as-text")


def test_long_lists_follow_the_apis_cursors(tab, platform, admin: Client, unique):
    for i in range(52):
        admin.models.create({"name": f"page-{unique}-{i:02d}", "owner": "bulk", "framework": "onnx"})
    total = sum(1 for _ in admin.models.list())
    t = tab()
    page = t.sign_in(platform.admin_key)
    rows = page.locator("table.catalog tbody tr")
    rows.nth(49).wait_for()
    assert rows.count() == 50
    page.get_by_role("button", name="Load more models").click()
    page.get_by_text(f"{total} models").wait_for()
    assert rows.count() == total
    page.get_by_label("Search models").fill(f"page-{unique}-5")
    page.get_by_text(f"2 of {total} models match").wait_for()


def test_a_narrow_screen_keeps_everything_reachable(tab, platform, shots):
    t = tab()
    t.page.set_viewport_size({"width": 390, "height": 844})
    page = t.sign_in(platform.admin_key)
    t.open("#/keys")
    page.get_by_role("button", name="Create key").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.reload()  # the key is still in this tab's sessionStorage: still signed in
    page.get_by_role("button", name="Create key").wait_for()
    page.keyboard.press("Tab")  # the skip link comes first
    focused = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    assert "Skip to content" in focused, focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    shots(page, "narrow-keys")


def test_the_console_is_served_with_its_strict_policy(platform):
    answer = httpx.get(f"{platform.api_url}/console/")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="app.js"></script>' in answer.text and "<script>" not in answer.text
    config = httpx.get(f"{platform.api_url}/console/config.json").json()
    assert config["api_url"] == "" and "ml.m5.large" in config["instance_types"]


def test_a_high_risk_version_needs_a_second_approver_and_retired_models_are_listed_apart(tab, admin: Client, key_for,
                                                                                         tmp_path, unique):
    name = f"risky-{unique}"
    admin.models.create({"name": name, "owner": "ops", "framework": "python",
                         "policy": {"risk_tier": "high", "allow_code": True}})
    model = tmp_path / "m"
    model.mkdir()
    (model / "predictor.py").write_text("def load(d):\n    pass\n\ndef predict(b):\n    return b\n")
    card = {"intended_use": "x", "limitations": "y", "evaluation": "z", "training_data": "w"}
    admin.push(name, model, version="1.0.0", card=card)
    admin.versions.submit(name, "1.0.0")
    first = key_for(["approver"], owner=f"first-{unique}")
    assert first.versions.approve(name, "1.0.0", "looks right").status.value == "pending_approval"
    token = admin.keys.create({"owner": f"first-{unique}", "roles": ["approver"]}).token  # the same person, another key
    t = tab()
    page = t.sign_in(token)
    t.open(f"#/approvals?model={name}&version=1.0.0")
    page.locator("#two-approvals").get_by_text(f"1 of 2 so far (first-{unique})").wait_for()
    assert page.get_by_role("button", name="Approve").is_disabled()
    page.get_by_text("You approved it already; a second approver must approve it too.").wait_for()

    retired = f"old-{unique}"
    admin.models.create({"name": retired, "owner": "ops", "framework": "onnx"})
    admin.models.retire(retired)
    t.open("#/models")
    page.get_by_label("Search models").fill(retired)
    page.get_by_text("0 of").wait_for()
    page.get_by_label("Show").select_option("retired")
    row = page.get_by_role("row", name=re.compile(retired))
    row.get_by_text("retired").wait_for()
