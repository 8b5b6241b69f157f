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
