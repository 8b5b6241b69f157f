"""Governance records from the CLI (issue 12): alias history, ..."""

from __future__ import annotations

import json

from tests.cli.test_commands import CARD, model_dir, ok, one_error_line


def test_alias_history_and_what_served_at(cli, tmp_path, unique) -> None:
    name = f"h-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team", "--no-require-approval"))
    for i, version in enumerate(("1.0.0", "1.1.0")):
        ok(cli("push", str(model_dir(tmp_path / str(i), float(i))), "-m", name, "--version", version, *CARD))
    ok(cli("alias", "set", name, "production", "1.0.0"))
    ok(cli("alias", "set", name, "production", "1.1.0"))
    periods = json.loads(ok(cli("alias", "history", name, "--json")))
    assert [p["version"] for p in periods] == ["1.1.0", "1.0.0"]
    first = periods[1]
    served = json.loads(ok(cli("alias", "history", name, "production", "--at", first["start"], "--json")))
    assert served["version"] == "1.0.0" and served["end"] == periods[0]["start"]
    human = ok(cli("alias", "history", name))
    assert "1.1.0" in human and "now" in human and "(not served)" in human
    assert "pointed at no version" in ok(cli("alias", "history", name, "--at", "2001-01-01T00:00:00Z"))
    assert json.loads(ok(cli("alias", "history", name, "--at", "2001-01-01T00:00:00Z", "--json"))) is None
    one_error_line(cli("alias", "history", name, "--at", "2001-01-01T00:00:00"), "UTC offset", "HTTP 400")
    one_error_line(cli("alias", "history", name, "--at", "soon"), "query.at", "HTTP 400")
    one_error_line(cli("alias", "history", name, "staging"), "AliasNotFound", "HTTP 404")


def test_models_update_confirm_and_retire(cli, token, unique) -> None:
    name = f"life-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team"))
    updated = json.loads(ok(cli("models", "update", name, "--description", "churn risk", "--risk-tier", "high",
                                "--json")))
    assert (updated["description"], updated["policy"]["risk_tier"], updated["revision"]) == ("churn risk", "high", 2)
    one_error_line(cli("models", "update", name, "--owner", "x", "--revision", "1"), "PreconditionFailed", "HTTP 412")
    one_error_line(cli("models", "update", name), "nothing to change")
    one_error_line(cli("models", "update", name, "--patch", "[1]"), "JSON object")
    one_error_line(cli("models", "update", name, "--patch", '{"name": "other"}'), "not name", "HTTP 400")
    # the admin asks to loosen; a second person (an approver) confirms
    pending = ok(cli("models", "update", name, "--no-require-approval"))
    assert "pending" in pending and "policy.require_approval" in pending
    [change] = json.loads(ok(cli("models", "changes", name, "--json")))
    one_error_line(cli("models", "confirm", name, change["id"]), "FourEyesViolation", "HTTP 403")
    approver = token(["approver"], owner=f"risk-{unique}")
    assert "applied" in ok(cli("models", "confirm", name, change["id"], "--comment", "sandbox", key=approver))
    assert json.loads(ok(cli("models", "show", name, "--json")))["model"]["policy"]["require_approval"] is False
    retired = json.loads(ok(cli("models", "retire", name, "--reason", "superseded", "--json")))
    assert retired["status"] == "retired"
    assert name in [m["name"] for m in json.loads(ok(cli("models", "list", "--status", "retired", "--json")))]
    assert name not in [m["name"] for m in json.loads(ok(cli("models", "list", "--json")))]
    one_error_line(cli("models", "update", name, "--description", "again"), "ModelRetired", "HTTP 409")


def test_high_risk_needs_two_approvers_and_audit_due_lists_revalidations(cli, token, tmp_path, unique) -> None:
    name = f"risk-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team"))
    ok(cli("models", "update", name, "--risk-tier", "high"))
    publisher = token(["publisher"], owner=f"pub-{unique}")
    first, second = (token(["approver"], owner=f"appr{i}-{unique}") for i in (1, 2))
    ok(cli("push", str(model_dir(tmp_path)), "-m", name, "--version", "1.0.0", *CARD, key=publisher))
    ok(cli("submit", name, "1.0.0", key=publisher))
    assert "pending_approval" in ok(cli("approve", name, "1.0.0", key=first))
    one_error_line(cli("approve", name, "1.0.0", key=first), "FourEyesViolation")
    assert "approved" in ok(cli("approve", name, "1.0.0", "--comment", "second pair of eyes", key=second))
    ok(cli("alias", "set", name, "production", "1.0.0", key=publisher))
    assert name not in ok(cli("audit", "due"))  # 90 days to go
    due = json.loads(ok(cli("audit", "due", "--within", "91", "--json")))
    [row] = [r for r in due if r["model"] == name]
    assert (row["version"], row["risk_tier"], row["overdue"]) == ("1.0.0", "high", False)
    listed = ok(cli("models", "list"))
    assert "revalidate by" in listed and "OVERDUE" not in listed.split(name)[1].splitlines()[0]
    one_error_line(cli("revalidate", name, "1.0.0", key=publisher), "HTTP 403")
    assert "revalidated" in ok(cli("revalidate", name, "1.0.0", "--comment", "Q3 back-test", key=first))
    shown = json.loads(ok(cli("versions", "show", name, "1.0.0", "--json")))
    assert [a["comment"] for a in shown["approvals"]] == [None, "second pair of eyes"]
    assert shown["revalidations"][0]["comment"] == "Q3 back-test"


def test_evidence_export_and_offline_verify(cli, token, tmp_path, unique) -> None:
    import zipfile

    name = f"ev-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team"))
    publisher = token(["publisher"], owner=f"pub-{unique}")
    approver = token(["approver"], owner=f"appr-{unique}")
    ok(cli("push", str(model_dir(tmp_path)), "-m", name, "--version", "1.0.0", *CARD, "--code-revision", "git:abc123",
           key=publisher))
    ok(cli("submit", name, "1.0.0", key=publisher))
    ok(cli("approve", name, "1.0.0", "--comment", "fit for purpose", key=approver))
    ok(cli("alias", "set", name, "production", "1.0.0", key=publisher))
    one_error_line(cli("evidence", "export", name, "1.0.0", "-o", str(tmp_path / "x.zip"), key=publisher), "HTTP 403")
    pack = tmp_path / "pack.zip"
    out = ok(cli("evidence", "export", name, "1.0.0", "-o", str(pack), key=approver))
    assert "exported" in out and pack.is_file()
    with zipfile.ZipFile(pack) as archive:
        assert sorted(archive.namelist()) == ["SHA256SUMS", "evidence.html", "evidence.json"]
        document = json.loads(archive.read("evidence.json"))
        html = archive.read("evidence.html").decode()
    assert document["lineage"]["code_revision"] == "git:abc123" and "fit for purpose" in html
    verified = ok(cli("evidence", "verify", str(pack)))
    assert "verified" in verified and "MISMATCH" not in verified
    # an edited pack, its SHA256SUMS recomputed to match: the audit record still names it
    document["approvals"][0]["comment"] = "rubber stamp"
    from modelport.client.evidence import write_zip

    forged = write_zip(document, tmp_path / "forged.zip")
    result = cli("evidence", "verify", str(forged), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and [m["section"] for m in report["mismatches"]] == ["approvals"]
    human = cli("evidence", "verify", str(forged))
    assert human.exit_code == 1 and "MISMATCH approvals" in human.stdout
    # the HTML alone edited
    with zipfile.ZipFile(pack) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "html.zip", "w") as archive:
        for n, body in members.items():
            archive.writestr(n, body.replace(b"fit for purpose", b"approved by the board") if n == "evidence.html" else body)
    report = json.loads(cli("evidence", "verify", str(tmp_path / "html.zip"), "--json").stdout)
    assert {m["section"] for m in report["mismatches"]} == {"SHA256SUMS", "evidence.html"}
    (tmp_path / "junk.zip").write_text("not a zip")
    one_error_line(cli("evidence", "verify", str(tmp_path / "junk.zip")), "does not verify")


def test_keys_rotate_list_by_owner_and_last_use(cli, platform, unique) -> None:
    owner = f"svc-{unique}"
    created = json.loads(ok(cli("keys", "create", "--owner", owner, "--role", "consumer", "--pattern", "churn*",
                                "--json")))
    old_id, old_token = created["key"]["key_id"], created["token"]
    ok(cli("models", "list", key=old_token))  # a use: sampled into last_used_at
    [listed] = json.loads(ok(cli("keys", "list", "--owner", owner, "--json")))
    assert listed["key_id"] == old_id and listed["last_used_at"] is not None
    rotated = json.loads(ok(cli("keys", "rotate", old_id, "--grace-hours", "1", "--json")))
    new_id, new_token = rotated["key"]["key_id"], rotated["token"]
    assert rotated["key"]["patterns"] == ["churn*"] and rotated["previous"]["rotated_to"] == new_id
    ok(cli("models", "list", key=old_token))  # the grace period
    ok(cli("models", "list", key=new_token))
    mine = json.loads(ok(cli("keys", "list", "--owner", owner.upper(), "--json")))
    assert sorted(k["key_id"] for k in mine) == sorted([old_id, new_id])
    human = ok(cli("keys", "list", "--owner", owner))
    assert new_id in human and new_token.split("_", 2)[2] not in human
    one_error_line(cli("keys", "rotate", old_id, "--grace-hours", "1"), "rotated already", "HTTP 409")
    one_error_line(cli("keys", "rotate", new_id, "--grace-hours", "9999"), "grace_period_hours", "HTTP 400")
    now = ok(cli("keys", "rotate", new_id, "--grace-hours", "0"))
    assert "token (shown once" in now
    one_error_line(cli("models", "list", key=new_token), "Unauthenticated")  # no grace: at once
