"""The security review's attacks (issue 10), run as an attacker would against ONE `local up`.

The attacker holds a publisher key pinned to one model name, can reach every loopback port
of the machine, and gets a python predictor of theirs approved and deployed (the victim
team's production model is that predictor: it reports what it could reach as its
predictions). Each test is one attack of the review; the detailed rules behind each have
their own tests (named in each docstring), this module is the whole run in one place.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelport import Client
from modelport.local import sandbox
from modelport.local.platform import Platform
from tests.functional.test_authorization_matrix import legacy_admin_key
from tests.local.test_guard import code_of, fake_client, signed
from tests.security.conftest import HEADER_TIMEOUT_S

CARD = {"intended_use": "security tests", "limitations": "none", "evaluation": "none", "training_data": "none"}

#: the victim's production model: approved code that tries what the review's predictor did
EVIL = '''\
import json, os

STATE, PLATFORM = {state!r}, {pid}


def _try(action):
    try:
        return action()
    except OSError as exc:
        return "refused: " + type(exc).__name__


def _read(path):
    with open(path, "rb") as fh:
        return fh.read(1 << 16).decode("latin-1")


def _append(path):
    with open(path, "a") as fh:
        fh.write("forged")
    return "written"


def _memory():
    with open(f"/proc/{{PLATFORM}}/maps") as fh:
        start = int(next(line for line in fh if " rw-p " in line).split("-")[0], 16)
    with open(f"/proc/{{PLATFORM}}/mem", "rb") as fh:
        fh.seek(start)
        return "read %d bytes" % len(fh.read(64))


def load(model_dir):
    pass


def predict(batch):
    seen = {{
        "admin.key": _try(lambda: _read(os.path.join(STATE, "admin.key"))),
        "aws-credentials.json": _try(lambda: _read(os.path.join(STATE, "aws-credentials.json"))),
        "plant a file": _try(lambda: _append(os.path.join(STATE, "planted.json"))),
        "append to the lock": _try(lambda: _append(os.path.join(STATE, "lock"))),
        "default state dir": _try(lambda: _read(os.path.join(".modelport", "local", "admin.key"))),
        "platform memory": _try(_memory),
        "platform cwd": _try(lambda: os.readlink(f"/proc/{{PLATFORM}}/cwd")),
        "platform environ": _try(lambda: _read(f"/proc/{{PLATFORM}}/environ")),
        "env": dict(os.environ),
    }}
    return [json.dumps(seen)] * len(batch)
'''


@dataclass
class Stage:
    victim: str  # the victim team's production model (`<prefix>-x`)
    mine: str  # the attacker's own model: the name the publisher key is pinned to
    code: str  # a model whose policy allows code (an admin created it so)
    publisher: str  # the attacker's token: publisher, patterns [mine, mine-lax, code]
    approver: str
    endpoints: dict[str, str]


def api(platform: Platform, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{platform.api_url}{path}", headers={"Authorization": f"Bearer {token}",
                         **kwargs.pop("headers", {})}, timeout=30, **kwargs)


def error(reply: httpx.Response) -> tuple[int, str]:
    return reply.status_code, (reply.json().get("error") or {}).get("code", "") if reply.content else ""


def evil_predictor(root: Path, platform: Platform) -> Path:
    root.mkdir(parents=True)
    (root / "predictor.py").write_text(EVIL.format(state=str(platform.state_dir), pid=os.getpid()))
    return root


def skops_model(root: Path) -> Path:
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    root.mkdir(parents=True)
    sio.dump(LinearRegression().fit([[0.0, 0.0], [1.0, 1.0], [2.0, 3.0]], [0.0, 1.0, 2.0]), root / "model.skops")
    return root


@pytest.fixture(scope="module")
def stage(platform: Platform, admin: Client, tmp_path_factory: pytest.TempPathFactory) -> Stage:
    prefix = f"sec{uuid.uuid4().hex[:6]}"
    mine, victim, code = prefix, f"{prefix}-x", f"{prefix}-code"
    publisher = admin.keys.create({"owner": "mallory", "roles": ["publisher"],
                                   "patterns": [mine, f"{mine}-lax", code]}).token
    approver = admin.keys.create({"owner": "victor", "roles": ["approver"], "patterns": [f"{prefix}*"]}).token
    work = tmp_path_factory.mktemp("attacks")
    # the victim team's production: approved code (the predictor reports what it can reach)
    admin.models.create({"name": victim, "owner": "victim-team", "framework": "python", "policy": {"allow_code": True}})
    admin.push(victim, evil_predictor(work / "evil", platform), version="1.0.0", card=CARD)
    admin.versions.submit(victim, "1.0.0")
    with Client(platform.api_url, approver) as deciding, Client(platform.api_url, publisher) as attacker:
        deciding.versions.approve(victim, "1.0.0")
        victims = admin.deployments.start(victim, "1.0.0", to="production")
        # the collision repro: the attacker's own model on alias `x-production`
        admin.models.create({"name": mine, "owner": "mallory", "framework": "sklearn"})
        attacker.push(mine, skops_model(work / "mine"), version="1.0.0", card=CARD)
        theirs = attacker.deployments.start(mine, "1.0.0", to="x-production")
        admin.models.create({"name": code, "owner": "mallory", "framework": "python", "policy": {"allow_code": True}})
        attacker.push(code, evil_predictor(work / "code", platform), version="1.0.0", card=CARD)
        for name, started in ((victim, victims), (mine, theirs)):
            final = admin.deployments.wait(name, started.id, timeout_s=120)
            assert final.status.value == "succeeded", (name, final.error, final.cause)
        endpoints = {f"{a.model}/{a.alias}": a.endpoint for name in (victim, mine) for a in admin.aliases.list(name)}
    return Stage(victim=victim, mine=mine, code=code, publisher=publisher, approver=approver, endpoints=endpoints)


# --- over HTTP, with the attacker's keys ------------------------------------------------------


def test_keys_cannot_be_minted_past_their_holder(platform, admin, stage):
    """Finding 5 (tests/functional/test_authorization_matrix.py, tests/unit/test_key_scope.py)."""
    for body in ({"owner": "m2", "roles": ["admin"], "patterns": ["*"]}, {"owner": "m2", "roles": ["publisher"]}):
        assert error(api(platform, stage.publisher, "POST", "/v1/keys", json=body)) == (403, "Forbidden")
    narrow = api(platform, platform.admin_key, "POST", "/v1/keys",
                 json={"owner": "m2", "roles": ["admin"], "patterns": [stage.mine]})
    assert error(narrow) == (400, "InvalidInput")  # admin keys take no patterns
    legacy = legacy_admin_key([stage.mine])  # one made before that rule, written to the store
    minted = api(platform, legacy, "POST", "/v1/keys", json={"owner": "m2", "roles": ["admin"], "patterns": ["*"]})
    assert error(minted) == (403, "Forbidden")
    assert api(platform, legacy, "GET", "/v1/keys").status_code == 403
    assert api(platform, legacy, "GET", "/v1/audit", params={"chain": "platform"}).status_code == 403


def test_an_exact_pattern_pins_one_name(platform, stage):
    """Lower finding, patterns: `sec…` without `*` covers that model, not `sec…-x`."""
    assert api(platform, stage.publisher, "GET", f"/v1/models/{stage.mine}").status_code == 200
    for path in (f"/v1/models/{stage.victim}", f"/v1/models/{stage.victim}/invocations"):
        assert error(api(platform, stage.publisher, "GET" if "invocations" not in path else "POST", path,
                         content=b"[[1]]", headers={"Content-Type": "application/json"}))[0] == 403


def test_a_publisher_cannot_loosen_a_policy(platform, stage):
    """Finding 2, who loosens policy (tests/unit/test_policy_rules.py, the matrix)."""
    created = api(platform, stage.publisher, "POST", "/v1/models", json={
        "name": f"{stage.mine}-lax", "owner": "mallory", "framework": "sklearn", "policy": {"allow_pickle": True}})
    assert error(created) == (403, "PolicyLooseningForbidden")
    for policy in ({"allow_code": True}, {"require_approval": False}, {"on_retrain": "deploy_staging"}):
        patched = api(platform, stage.publisher, "PATCH", f"/v1/models/{stage.mine}", json={"policy": policy},
                      headers={"If-Match": "*"})
        assert patched.status_code == 403, (policy, patched.text)
    assert api(platform, stage.publisher, "GET", f"/v1/models/{stage.mine}").json()["policy"]["allow_code"] is False


def test_unapproved_code_runs_nowhere(platform, stage):
    """Finding 2, approval before code (tests/functional/test_deployments_api.py)."""
    for alias in ("staging", "dev-mallory", "production"):
        started = api(platform, stage.publisher, "POST", f"/v1/models/{stage.code}/deployments",
                      json={"version": "1.0.0", "alias": alias})
        assert error(started) == (409, "ApprovalRequired"), (alias, started.text)
    listed = api(platform, stage.publisher, "GET", f"/v1/models/{stage.code}/deployments")
    assert listed.status_code == 200 and listed.json()["items"] == []  # nothing was started


def test_a_colliding_alias_gets_its_own_endpoint(platform, stage):
    """Finding 1: `<mine>` + `x-production` once named `<mine>-x`'s production endpoint."""
    victim, theirs = stage.endpoints[f"{stage.victim}/production"], stage.endpoints[f"{stage.mine}/x-production"]
    assert victim and theirs and victim != theirs
    answer = api(platform, stage.approver, "POST", f"/v1/models/{stage.victim}/invocations", content=b"[[1, 2]]",
                 headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and isinstance(answer.json()["predictions"][0], str)  # still the victim's model
    own = api(platform, stage.publisher, "POST", f"/v1/models/{stage.mine}/versions/x-production/invocations",
              content=b"[[1, 2]]", headers={"Content-Type": "application/json"})
    assert own.status_code == 200 and isinstance(own.json()["predictions"][0], float)


def test_a_lying_npy_header_is_a_400_naming_no_host_path(platform, stage):
    """Finding 6 (tests/containers/test_protocols.py; the bake repro in tests/local/sagemaker)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**11,)})
    for _ in range(3):
        reply = api(platform, stage.publisher, "POST", f"/v1/models/{stage.mine}/versions/x-production/invocations",
                    content=header.getvalue() + bytes(16), headers={"Content-Type": "application/x-npy"})
        assert reply.status_code == 400 and "declares shape (100000000000,)" in reply.text, reply.text
        assert str(platform.state_dir) not in reply.text and "/tmp/" not in reply.text


def test_slow_headers_are_cut_off(platform):
    """Lower finding, slow headers (tests/gateway/test_slow_clients.py)."""
    with socket.create_connection(("127.0.0.1", platform.gateway.port)) as sock:
        sock.sendall(b"POST /v1/models/x/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.settimeout(HEADER_TIMEOUT_S + 5)
        began = time.monotonic()
        assert sock.recv(4096) == b""  # closed, with nothing answered
        assert time.monotonic() - began < HEADER_TIMEOUT_S + 3


# --- over the embedded AWS port, with no key of the run --------------------------------------


def test_the_embedded_aws_refuses_made_up_credentials(platform):
    """Finding 3 (tests/local/test_guard.py): no key records, no forged key, no Lambda."""
    cloud = platform.cloud
    dynamodb = fake_client(cloud, "dynamodb")
    assert code_of(dynamodb.scan, TableName=platform.names.table) == "UnrecognizedClientException"
    assert code_of(dynamodb.put_item, TableName=platform.names.table,
                   Item={"PK": {"S": "KEY#forged"}, "SK": {"S": "KEY"}}) == "UnrecognizedClientException"
    forged = {"httpMethod": "POST", "resource": "/v1/keys", "body": json.dumps({"owner": "m", "roles": ["admin"]}),
              "requestContext": {"authorizer": {"principal": "x", "roles": "admin", "patterns": "*"}}}
    assert code_of(fake_client(cloud, "lambda").invoke, FunctionName="keys",
                   Payload=json.dumps(forged)) == "UnrecognizedClientException"


def test_the_embedded_aws_answers_no_browser_and_no_foreign_host(platform):
    cloud = platform.cloud
    bucket = platform.names.artifacts_bucket
    preflight = httpx.options(f"{cloud.url}/{bucket}", headers={"Origin": "https://evil.example",
                                                                "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 403 and not [h for h in preflight.headers if h.startswith("access-control-")]
    headers = signed(cloud, "GET", f"{cloud.url}/{bucket}", service="s3",
                     headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    headers["Host"] = f"rebound.example:{cloud.aws.port}"
    rebound = httpx.get(f"{cloud.url}/{bucket}", headers=headers)
    assert rebound.status_code == 403 and b"InvalidHost" in rebound.content


def test_an_upload_url_takes_only_the_published_bytes(platform, stage):
    """Finding 3, checksums: the presigned artifact URL, other bytes, or no signature at all."""
    good, evil = b"the published artifact", b"something else entirely"
    published = api(platform, stage.publisher, "POST", f"/v1/models/{stage.mine}/versions", json={
        "version": "9.0.0", "sha256": hashlib.sha256(good).hexdigest(), "size": len(good), "card": CARD},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert published.status_code == 201, published.text
    upload = published.json()["upload"]
    evil = evil[: len(good)]  # the signed Content-Length holds
    swapped = httpx.put(upload["url"], content=evil, headers=upload["headers"])
    assert swapped.status_code == 400 and b"BadDigest" in swapped.content
    unsummed = {k: v for k, v in upload["headers"].items() if not k.lower().startswith("x-amz-checksum-")}
    assert httpx.put(upload["url"], content=evil, headers=unsummed).status_code == 403  # the checksum is signed
    key = upload["url"].split("?", 1)[0]
    anonymous = httpx.put(key, content=evil, headers={"x-amz-checksum-sha256": upload["headers"]["x-amz-checksum-sha256"]})
    assert anonymous.status_code == 403
    submitted = api(platform, stage.publisher, "POST", f"/v1/models/{stage.mine}/versions/9.0.0/submit")
    assert submitted.status_code >= 400  # nothing was stored under the version's key


# --- from inside the victim's (approved) predictor -------------------------------------------


def test_a_deployed_predictor_reaches_nothing_of_the_platform(platform, stage):
    """Finding 2, what a process inherits (tests/local/sagemaker/test_process_env.py)."""
    answer = api(platform, stage.approver, "POST", f"/v1/models/{stage.victim}/invocations", content=b"[[1]]",
                 headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    seen = json.loads(answer.json()["predictions"][0])
    env = seen.pop("env")
    assert not [k for k in env if k.startswith("AWS_") or (k.startswith("MODELPORT_LOCAL_") and k != "MODELPORT_LOCAL_PROCESSES")]
    assert "MODELPORT_SANDBOX" not in env and not Path(env["HOME"]).is_relative_to(platform.state_dir)
    secrets = (platform.cloud.aws.credentials.secret_access_key, platform.admin_key, platform.admin_key.rsplit("_", 1)[-1])
    everything = json.dumps([seen, env])
    assert not [s for s in secrets if s in everything]
    assert seen["default state dir"].startswith("refused")  # its working directory is its own
    if not sandbox.available():
        pytest.skip("this kernel has no Landlock: files of the same user stay readable to the predictor")
    for attempt in ("admin.key", "aws-credentials.json", "plant a file", "append to the lock", "platform memory",
                    "platform cwd"):
        assert seen[attempt].startswith("refused"), (attempt, seen[attempt][:80])
    assert not (platform.state_dir / "planted.json").exists()
    assert "forged" not in (platform.state_dir / "lock").read_text()
