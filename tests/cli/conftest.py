"""One local platform (embedded AWS, handlers, gateway) for the whole tests/cli package."""

from __future__ import annotations

import uuid

import pytest

from modelport import Client
from modelport.local.platform import Platform
from tests import platform_fixtures as shared

platform, admin, unique, key_for = shared.platform, shared.admin, shared.unique, shared.key_for


@pytest.fixture
def cli(platform: Platform, tmp_path, monkeypatch):
    """`cli(*args, key=admin, env={})` runs `modelport ...` in-process; returns the Result."""
    from typer.testing import CliRunner

    from modelport.cli.main import app

    monkeypatch.setenv("MODELPORT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MODELPORT_MAX_RETRIES", "0")
    runner = CliRunner()

    def run(*args: str, key: str | None = None, url: str | None = None, env: dict | None = None):
        values = {"MODELPORT_URL": url or platform.api_url, "MODELPORT_API_KEY": key or platform.admin_key,
                  "COLUMNS": "200"}
        values.update(env or {})
        return runner.invoke(app, list(args), env={k: v for k, v in values.items()}, catch_exceptions=False)

    return run


@pytest.fixture
def token(admin: Client):
    """`token(roles, owner=...)` → a new key's token."""

    def make(roles: list[str], owner: str | None = None) -> str:
        return admin.keys.create({"owner": owner or f"cli-{uuid.uuid4().hex[:6]}", "roles": roles}).token

    return make
