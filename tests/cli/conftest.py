"""One local platform (embedded AWS, handlers, gateway) for the whole tests/cli package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from modelport import Client
from modelport.local.platform import Platform
from modelport.local.platform.testing import running_platform


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("cli-platform")) as started:
        yield started


@pytest.fixture(scope="package")
def admin(platform: Platform) -> Iterator[Client]:
    with Client(platform.api_url, platform.admin_key) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def key_for(platform: Platform, admin: Client):
    """`key_for(roles, patterns=["*"], owner=...)` → a Client holding a new key."""
    made: list[Client] = []

    def make(roles: list[str], patterns: list[str] | None = None, owner: str | None = None) -> Client:
        created = admin.keys.create({"owner": owner or f"user-{uuid.uuid4().hex[:6]}", "roles": roles,
                                     "patterns": patterns or ["*"]})
        client = Client(platform.api_url, created.token)
        client.key_id = created.key.key_id  # type: ignore[attr-defined] - for tests that revoke it
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


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
