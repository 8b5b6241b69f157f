"""Shared fixtures: fake AWS credentials, embedded moto, Modelport's tables and buckets.

Fixtures build on each other: `aws` (in-process moto) → `tables` (schema from
`functions.adapters.schema`) → `control_plane_env` (MODELPORT_* settings pointing at them).
`moto_server` is a loopback moto server for tests that need real HTTP (presigned uploads,
many threads).
"""

from __future__ import annotations

import os

import pytest

# Set before anything imports boto3: tests never reach real AWS.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)

TABLE, AUDIT_TABLE, ARTIFACTS = "modelport-test-meta", "modelport-test-audit", "modelport-test-artifacts"


@pytest.fixture
def aws():
    """In-process moto for every AWS service."""
    from moto import mock_aws

    with mock_aws():
        yield


def make_resources(dynamodb, s3) -> dict[str, str]:
    from functions.adapters.schema import create_tables

    create_tables(dynamodb, table_name=TABLE, audit_table_name=AUDIT_TABLE)
    s3.create_bucket(Bucket=ARTIFACTS)
    return {
        "MODELPORT_STAGE": "test",
        "MODELPORT_TABLE_NAME": TABLE,
        "MODELPORT_AUDIT_TABLE_NAME": AUDIT_TABLE,
        "MODELPORT_ARTIFACTS_BUCKET": ARTIFACTS,
    }


@pytest.fixture
def tables(aws):
    """Modelport's tables and artifacts bucket in moto; returns the MODELPORT_* settings."""
    import boto3

    return make_resources(boto3.client("dynamodb"), boto3.client("s3"))


@pytest.fixture
def control_plane_env(tables, monkeypatch):
    """Settings in the environment, and the handlers' cached wiring reset around the test."""
    from functions.adapters import wiring

    for name, value in tables.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    yield tables
    wiring.reset()


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def serial_moto_server():
    """A moto server that handles one request at a time; yields its URL.

    moto's backends are not thread-safe: two concurrent conditional writes can both pass
    their condition. DynamoDB checks and applies a transaction atomically, so tests that
    race many clients against one table use this server, which gives moto that atomicity.
    """
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    server = make_server(
        "127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    thread.join()
