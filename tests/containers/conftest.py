"""Fixtures for the model-container tests: artifacts built here, servers as processes."""

from __future__ import annotations

import pytest

from tests.containers import models
from tests.containers.serverproc import start_server


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """A factory of artifact directories, each built once per session."""
    root = tmp_path_factory.mktemp("artifacts")
    built = {}

    def get(kind: str):
        if kind not in built:
            builders = {
                "skops": lambda p: models.sklearn_skops(p),
                "pickle-allowed": lambda p: models.sklearn_pickle(p, allow=True),
                "pickle-refused": lambda p: models.sklearn_pickle(p, allow=False),
                "xgb-json": lambda p: models.xgboost_model(p, "json"),
                "xgb-ubj": lambda p: models.xgboost_model(p, "ubj"),
                "onnx": models.onnx_model,
                "torchscript": models.torchscript_model,
                "custom": models.custom_model,
            }
            built[kind] = builders[kind](root / kind)
        return built[kind]

    return get


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="module")
def serve(logs_dir):
    """Start servers (stopped when the module ends): ``serve(model_dir, **env)``."""
    started = []

    def launch(model_dir, **env):
        server = start_server(model_dir, logs_dir, **env)
        started.append(server)
        return server

    yield launch
    for server in started:
        server.stop()
