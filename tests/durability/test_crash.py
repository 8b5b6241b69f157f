"""A crash of `modelport local up` (SIGKILL) right after acknowledged writes loses none of
them (issue 11). Before the journal, every model and key created since the last periodic
snapshot was gone after a restart, the bootstrap admin key included, and `admin.key` no
longer authenticated."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from tests.e2e.conftest import LocalUp

CARD = {"intended_use": "t", "limitations": "t", "evaluation": "t", "training_data": "t"}


def call(up: LocalUp, method: str, path: str, token: str, body: dict | None = None) -> httpx.Response:
    return httpx.request(method, up.url + path, headers={"Authorization": f"Bearer {token}"},
                         json=body, timeout=30)


def test_what_was_acknowledged_just_before_a_sigkill_is_there_after_the_restart(tmp_path: Path) -> None:
    up = LocalUp(tmp_path / "state").start()
    admin = up.admin_key
    created = []
    try:
        # a fresh installation: the admin key itself was written a moment ago
        for i in range(5):
            reply = call(up, "POST", "/v1/models", admin, {"name": f"crash-{i}", "owner": "ds", "framework": "sklearn"})
            assert reply.status_code == 201, reply.text
            created.append(reply.json()["name"])
        key = call(up, "POST", "/v1/keys", admin, {"owner": "app", "roles": ["consumer"]})
        assert key.status_code == 201
        body = b"pretend this is model.tar.gz"
        version = call(up, "POST", "/v1/models/crash-0/versions", admin,
                       {"version": "1.0.0", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
                        "card": CARD})
        assert version.status_code == 201, version.text
        upload = version.json()["upload"]
        put = httpx.put(upload["url"], content=body, headers=upload["headers"], timeout=30)
        assert put.status_code == 200, put.text
    finally:
        up.kill()  # no snapshot, no clean-up: at once after the last acknowledgement

    again = LocalUp(tmp_path / "state").start()
    try:
        assert again.info["admin_key_created"] is False and again.admin_key == admin
        names = [m["name"] for m in call(again, "GET", "/v1/models", admin).json()["items"]]
        assert sorted(names) == sorted(created)
        keys = call(again, "GET", "/v1/keys", admin).json()["items"]
        assert key.json()["key"]["key_id"] in [k["key_id"] for k in keys]
        assert call(again, "GET", "/v1/models", key.json()["token"]).status_code == 200
        # the artifact upload was acknowledged too: the version can be submitted for approval
        assert call(again, "GET", "/v1/models/crash-0/versions/1.0.0", admin).json()["version"] == "1.0.0"
        submitted = call(again, "POST", "/v1/models/crash-0/versions/1.0.0/submit", admin)
        assert submitted.status_code == 200, submitted.text
        verified = call(again, "GET", "/v1/audit/verify", admin).json()
        assert verified["ok"], json.dumps(verified)
    finally:
        again.stop()
