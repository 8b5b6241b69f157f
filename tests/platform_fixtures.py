"""Fixtures for test packages that run against one local platform (embedded AWS, handlers,
gateway). A package's conftest imports them; each package then gets its own platform,
started once (package scope) and stopped when the package's tests end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from modelport import Client
from modelport.local.platform import Platform
from modelport.local.platform.testing import running_platform


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform")) as started:
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
