"""The control-plane story on this machine: `python -m modelport.demo_control_plane`.

Embedded AWS is a moto server on a free loopback port. Requests go through the real
authorizer and handlers (API Gateway proxy events built from `functions.routes`), and the
artifact is uploaded over HTTP with the presigned PUT the API returns. Each step prints
what was asked and what came back.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import sys
import tarfile
import urllib.request
import uuid
from typing import Any

STEPS: list[tuple[str, bool]] = []


def _env(endpoint: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "MODELPORT_STAGE": "demo",
        "MODELPORT_TABLE_NAME": f"demo-meta-{suffix}",
        "MODELPORT_AUDIT_TABLE_NAME": f"demo-audit-{suffix}",
        "MODELPORT_ARTIFACTS_BUCKET": f"demo-artifacts-{suffix}",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


class _Context:
    function_name = "demo"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:demo"
    aws_request_id = "demo"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def call(method: str, path: str, token: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    """One API request: route table → authorizer → handler, as API Gateway would run them."""
    import importlib

    from functions.auth.handler import lambda_handler as authorizer
    from functions.routes import ROUTES

    for route in ROUTES:
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)) + "$"
        found = re.match(pattern, path)
        if found and route.method == method:
            break
    else:
        return 404, {"error": {"code": "RouteNotFound", "message": path}}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request_id = str(uuid.uuid4())
    arn = f"arn:aws:execute-api:us-east-1:000000000000:demo/demo/{method}{path}"
    try:
        answer = authorizer(
            {"type": "REQUEST", "methodArn": arn, "resource": route.path, "path": path, "httpMethod": method,
             "headers": headers, "pathParameters": found.groupdict(), "requestContext": {"requestId": request_id}},
            _Context(),
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - "Unauthorized" is API Gateway's 401
        return 401, {"error": {"code": "Unauthenticated", "message": "missing or invalid API key"}}
    if answer["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        context = answer["context"]
        return 403, {"error": {"code": context["code"], "message": context["message"]}}
    if route.inference:
        return 200, {"endpoint": answer["context"]["endpoint"]}
    event = {
        "resource": route.path, "path": path, "httpMethod": method, "headers": headers,
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": found.groupdict() or None, "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
        "requestContext": {"requestId": request_id, "stage": "demo", "resourcePath": route.path, "httpMethod": method,
                           "authorizer": answer["context"]},
    }  # fmt: skip
    handler = importlib.import_module(f"functions.{route.function}.handler")
    response = handler.lambda_handler(event, _Context())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def step(title: str, status: int, body: Any, expect: int, show: str = "") -> Any:
    ok = status == expect
    STEPS.append((title, ok))
    mark = "ok " if ok else "FAIL"
    detail = show or (body.get("error", {}).get("message", "") if isinstance(body, dict) and "error" in body else "")
    print(f"[{mark}] {title:<52} → HTTP {status}  {detail}")
    if not ok:
        print(json.dumps(body, indent=2))
    return body


def artifact() -> bytes:
    """A tiny model.tar.gz (the demo does not serve it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        manifest = json.dumps({"format_version": 1, "framework": "python", "model_file": "model.json"}).encode()
        for name, data in (("modelport.json", manifest), ("model.json", b'{"weights": [0.1, 0.2]}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def put(upload: dict[str, Any], data: bytes) -> int:
    request = urllib.request.Request(upload["url"], data=data, method="PUT", headers=upload["headers"])
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def story() -> None:
    from functions.adapters import wiring
    from functions.core.apikeys import bootstrap_admin_key

    admin = bootstrap_admin_key(wiring.deps(), owner="platform-team").token
    print(f"[ok ] bootstrap admin key                                  → {admin[:20]}… (shown once)")
    alice = step("admin creates a publisher+approver key for alice", *call(
        "POST", "/v1/keys", admin, {"owner": "alice", "roles": ["publisher", "approver"], "patterns": ["churn*"]}),
        201)["token"]
    bob = step("admin creates an approver key for bob", *call(
        "POST", "/v1/keys", admin, {"owner": "bob", "roles": ["approver"], "patterns": ["*"]}), 201)["token"]
    step("alice creates model churn", *call("POST", "/v1/models", alice, {
        "name": "churn", "owner": "alice", "framework": "python", "description": "customer churn"}), 201)
    data = artifact()
    sha = hashlib.sha256(data).hexdigest()
    card = {"intended_use": "rank churn risk", "limitations": "EU customers only",
            "evaluation": "AUC 0.91 on 2024-Q4 holdout", "training_data": "CRM export 2024"}
    published = step("alice publishes a major bump", *call("POST", "/v1/models/churn/versions", alice, {
        "bump": "major", "sha256": sha, "size": len(data), "card": card, "metrics": {"auc": 0.91},
        "lineage": {"code_revision": "4f2c1e9"}}), 201)  # fmt: skip
    version = published["version"]["version"]
    print(f"      version {version}, upload with header x-amz-checksum-sha256={published['upload']['headers']['x-amz-checksum-sha256']}")
    step("submit before uploading is refused", *call("POST", f"/v1/models/churn/versions/{version}/submit", alice), 409)
    status = put(published["upload"], data)
    STEPS.append(("upload", status == 200))
    print(f"[{'ok ' if status == 200 else 'FAIL'}] {'alice uploads model.tar.gz with its checksum':<52} → HTTP {status}")
    step("alice submits for approval", *call("POST", f"/v1/models/churn/versions/{version}/submit", alice), 200)
    other = step("alice publishes 0.9.0, uploads it without the checksum", *call(
        "POST", "/v1/models/churn/versions", alice, {"version": "0.9.0", "sha256": sha, "size": len(data), "card": card}),
        201)  # fmt: skip
    # S3 itself refuses this PUT (the URL signs the checksum headers); the embedded S3 does
    # not check signatures, so the submit check is what catches it here.
    unsigned = {k: v for k, v in other["upload"]["headers"].items() if "checksum" not in k}
    put({**other["upload"], "headers": unsigned}, data)
    step("the unverifiable artifact is refused at submit", *call(
        "POST", "/v1/models/churn/versions/0.9.0/submit", alice), 409)
    step("alice tries to approve her own version", *call(
        "POST", f"/v1/models/churn/versions/{version}/approve", alice), 403)
    step("bob approves (four eyes)", *call(
        "POST", f"/v1/models/churn/versions/{version}/approve", bob, {"comment": "card and metrics reviewed"}), 200)
    step("bob points production at it", *call(
        "PUT", "/v1/models/churn/aliases/production", bob, {"version": version}), 200)
    resolved = step("alice resolves 1.x", *call("GET", "/v1/models/churn/versions/1.x", alice), 200)
    print(f"      1.x → {resolved['version']} ({resolved['status']}, sha256 {resolved['artifact']['sha256'][:12]}…)")
    step("inference before any deployment is refused", *call("POST", "/v1/models/churn/invocations", alice), 403)
    verify = step("bob verifies the audit chain", *call("GET", "/v1/audit/verify", bob, query={"chain": "churn"}), 200)
    chain = verify["chains"][0]
    print(f"      chain churn: {chain['events']} events, ok={chain['ok']}")
    events = call("GET", "/v1/audit", admin, query={"chain": "churn", "limit": "10"})[1]["items"]
    for event in reversed(events):
        print(f"      #{event['seq']} {event['action']:<16} {event['target']:<20} by {event['actor']:<30} {event['hash'][:12]}…")
    everything = step("admin verifies every chain", *call("GET", "/v1/audit/verify", admin), 200)
    STEPS.append(("all chains verify", everything["ok"]))


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ.update(_env(endpoint))
        import boto3

        from functions.adapters import wiring
        from functions.adapters.schema import create_tables

        wiring.reset()
        settings = wiring.settings()
        create_tables(boto3.client("dynamodb"), table_name=settings.table_name, audit_table_name=settings.audit_table_name)
        boto3.client("s3").create_bucket(Bucket=settings.artifacts_bucket)
        print(f"Modelport control plane on embedded AWS (moto at {endpoint})\n")
        story()
    finally:
        server.stop()
    failed = [title for title, ok in STEPS if not ok]
    print(f"\n{len(STEPS) - len(failed)}/{len(STEPS)} steps as expected" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
