"""One local cloud (embedded AWS + local SageMaker) for the whole tests/local package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.local.cloud import LocalCloud
from modelport.local.testing import client, local_cloud


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with local_cloud(tmp_path_factory.mktemp("local-state")) as started:
        yield started


@pytest.fixture
def unique() -> str:
    """A short unique suffix: tests share the cloud, so names must not collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def aws(cloud: LocalCloud):
    """boto3 clients of the local cloud, by service name."""
    made: dict[str, object] = {}

    def get(service: str):
        if service not in made:
            made[service] = client(cloud, service)
        return made[service]

    return get


@pytest.fixture
def bucket(aws, unique: str) -> str:
    name = f"test-{unique}"
    aws("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
