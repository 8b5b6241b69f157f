"""One local platform (embedded AWS, handlers, gateway) for the whole tests/gateway package."""

from __future__ import annotations

import uuid

import pytest

from modelport import Client
from modelport.local.platform import Platform
from tests import platform_fixtures as shared

platform, admin, unique, key_for = shared.platform, shared.admin, shared.unique, shared.key_for

CARD = {"intended_use": "tests", "limitations": "none", "evaluation": "none", "training_data": "none"}


@pytest.fixture(scope="package")
def deployed(platform: Platform, admin: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A `python` model (prediction = row sum + 1) deployed to `production` through the workflow."""
    name = f"gw-{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("gw-model")
    (root / "predictor.py").write_text(
        "import numpy as np\n\ndef load(model_dir):\n    pass\n\n"
        "def predict(batch):\n    return np.asarray(batch, dtype=float).sum(axis=1) + 1.0\n"
    )
    # a python predictor is code: the policy must allow it (an admin creates it so)
    admin.models.create({"name": name, "owner": "tests", "framework": "python", "policy": {"allow_code": True}})
    admin.push(name, root, version="1.0.0", card=CARD)
    admin.versions.submit(name, "1.0.0")
    approver = admin.keys.create({"owner": "gw-approver", "roles": ["approver"]})
    with Client(platform.api_url, approver.token) as other:
        other.versions.approve(name, "1.0.0")
    started = admin.deployments.start(name, "1.0.0", to="production")
    final = admin.deployments.wait(name, started.id, timeout_s=120)
    assert final.status.value == "succeeded", (final.error, final.cause)
    return name
