"""`python -m benchmarks.control_plane`: prints one `name=value` line per figure.

Runs against a moto server on a free loopback port (no AWS account). See README.md.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
    }.items():  # fmt: skip
        os.environ.setdefault(name, value)
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from benchmarks.control_plane import imports, requests
    from functions.adapters.schema import create_tables
    from functions.core.apikeys import hash_secret

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        suffix = uuid.uuid4().hex[:6]
        table, audit, bucket = f"bench-meta-{suffix}", f"bench-audit-{suffix}", f"bench-artifacts-{suffix}"
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        create_tables(dynamodb, table_name=table, audit_table_name=audit)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        lines = requests.run(endpoint, table, audit, bucket)

        # A key for the handlers' requests (written directly: the benchmark measures, it does not administer).
        key_id, secret = "0123456789abcdef", "b" * 43
        from datetime import UTC, datetime

        from functions.adapters.dynamodb import _item
        from functions.core.models import ApiKey

        key = ApiKey(
            key_id=key_id, owner="bench", roles=["admin"], patterns=["*"], created_at=datetime.now(UTC),
            created_by="bench", secret_hash=hash_secret(key_id, secret),
        )  # fmt: skip
        dynamodb.put_item(TableName=table, Item=_item(key))
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AWS_ENDPOINT_URL": endpoint,
            "MODELPORT_STAGE": "bench",
            "MODELPORT_TABLE_NAME": table,
            "MODELPORT_AUDIT_TABLE_NAME": audit,
            "MODELPORT_ARTIFACTS_BUCKET": bucket,
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        lines += imports.run(env, handler_events(key_id, secret))
    finally:
        server.stop()
    lines.append(("host.cpus", os.cpu_count()))
    lines.append(("host.load_avg_1m_after", round(os.getloadavg()[0], 2)))
    for name, value in lines:
        print(f"{name}={str(value).lower() if isinstance(value, bool) else value}")


def handler_events(key_id: str, secret: str) -> dict[str, dict]:
    """One GET per handler (a control-plane read) and an authorizer event."""
    events_dir = ROOT / "tests" / "events"
    api = json.loads((events_dir / "api_request.json").read_text())
    authorizer = json.loads((events_dir / "authorizer_request.json").read_text())
    authorizer["headers"]["Authorization"] = f"Bearer mp_{key_id}_{secret}"
    context = {"principal": key_id, "owner": "bench", "roles": "admin", "patterns": "*"}

    def get(path: str, query: dict | None = None) -> dict:
        event = copy.deepcopy(api)
        event.update(resource=path, path=path, httpMethod="GET", body=None, queryStringParameters=query)
        event["requestContext"]["authorizer"] = context
        return event

    return {
        "auth": authorizer,
        "registry": get("/v1/models"),
        "versioning": {**get("/v1/models/bench-10/aliases"), "resource": "/v1/models/{name}/aliases",
                       "pathParameters": {"name": "bench-10"}},
        "keys": get("/v1/keys"),
        "audit": get("/v1/audit/verify", {"chain": "bench-10"}),
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
