"""Fixtures for the local SageMaker: clients and endpoints that are deleted after each test."""

from __future__ import annotations

import json

import pytest

from modelport.local.testing import deploy_python_model, wait_endpoint, wait_for


@pytest.fixture
def sm(aws):
    return aws("sagemaker")


@pytest.fixture
def runtime(aws):
    return aws("sagemaker-runtime")


@pytest.fixture
def endpoints(cloud, sm):
    """Create endpoints through `create(name, config)`; all are deleted after the test."""
    names: list[str] = []

    def create(name: str, config: str, wait: bool = True) -> dict:
        sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
        names.append(name)
        return wait_endpoint(sm, name) if wait else {}

    yield create
    for name in names:
        try:
            sm.delete_endpoint(EndpointName=name)
        except sm.exceptions.ClientError:
            pass
    for name in names:
        wait_for(lambda n=name: cloud.sagemaker.store.get("endpoints", n) is None, 30,
                 what=f"endpoint {name} to be deleted")


@pytest.fixture
def model(cloud, bucket, tmp_path, unique):
    """`model(label, offset=..., count=..., corrupt=...)` → endpoint config name."""

    def make(label: str, **options) -> str:
        return deploy_python_model(cloud, bucket, f"{label}-{unique}", tmp_path, **options)

    return make


def predict(runtime, endpoint: str, rows: list[list[float]]) -> list[float]:
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=json.dumps(rows), ContentType="application/json")
    return json.loads(answer["Body"].read())["predictions"]
