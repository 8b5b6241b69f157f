"""What an AWS request to the embedded AWS is (service, operation), and journaling the
requests that change configuration (tables, buckets, queues, alarms, scaling) so they can
be replayed through moto after a crash.

Configuration changes are absolute ("this alarm is now ...", "this table exists"), so
replaying them in order after a snapshot that may already hold some of them ends in the
same state; a replay that moto refuses (the table exists already) is skipped.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from typing import Any
from urllib.parse import parse_qs

from werkzeug.test import EnvironBuilder

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^&]*?%2F\d{8}%2F[^%&]+%2F([^%&]+)%2Faws4_request", re.IGNORECASE)
_CBOR_OPERATION = re.compile(r"/operation/([A-Za-z]+)$")
#: operations that change nothing, by prefix (every AWS query/JSON API names them so)
READ_PREFIXES = ("Describe", "List", "Get", "Scan", "Query", "BatchGet", "TransactGet", "Head")
_KEPT_CONFIG = {
    "monitoring": frozenset({"PutMetricAlarm", "PutCompositeAlarm", "DeleteAlarms", "SetAlarmState",
                             "EnableAlarmActions", "DisableAlarmActions", "TagResource", "UntagResource"}),
    "application-autoscaling": frozenset({"RegisterScalableTarget", "DeregisterScalableTarget",
                                          "PutScalingPolicy", "DeleteScalingPolicy", "TagResource",
                                          "UntagResource"}),
}
#: request headers a replay needs (moto dispatches on them, and reads the operation from them)
_HEADERS = ("authorization", "content-type", "x-amz-target", "host", "x-amz-content-sha256",
            "content-md5", "x-amz-date", "smithy-protocol", "accept")


def signing_service(environ: dict) -> str | None:
    """The SigV4 credential scope's service (`dynamodb`, `s3`, `sqs`, `monitoring`, ...)."""
    found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if found:
        return found.group(1)
    found = _QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
    if found:
        return found.group(1)
    if environ.get("HTTP_AUTHORIZATION", "").startswith("AWS ") or "AWSAccessKeyId=" in environ.get("QUERY_STRING", ""):
        return "s3"  # SigV2 is S3's only
    return None


def operation(environ: dict, body: bytes) -> str:
    """The operation of a JSON, CBOR or query-protocol request ('' for REST APIs like S3)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    found = _CBOR_OPERATION.search(environ.get("PATH_INFO", ""))
    if found:
        return found.group(1)
    if environ.get("REQUEST_METHOD") == "POST" and b"Action=" in body[:4096]:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        return action[0] if action else ""
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    return action[0] if action else ""


def is_read(op: str) -> bool:
    return op.startswith(READ_PREFIXES)


def kept_config(service: str | None, op: str) -> bool:
    """A configuration change of a service whose state local mode keeps (besides data)."""
    return op in _KEPT_CONFIG.get(service or "", ())


def s3_path(environ: dict) -> tuple[str, str]:
    """(bucket, key) of a path-style S3 request ('' where absent)."""
    path = environ.get("PATH_INFO", "").lstrip("/")
    bucket, _, key = path.partition("/")
    return bucket, key


def is_s3_bucket_write(environ: dict) -> bool:
    """A bucket-level change (create, delete, versioning, notification, ...), not an object's."""
    bucket, key = s3_path(environ)
    return bool(bucket) and not key and environ.get("REQUEST_METHOD") in ("PUT", "DELETE")


def read_body(environ: dict) -> bytes:
    """The whole body, put back for the application behind."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def entry(environ: dict, body: bytes) -> dict:
    """A request as a journal record."""
    headers = {}
    for name in _HEADERS:
        value = environ.get("CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_"))
        if value:
            headers[name] = value
    return {
        "t": "req",
        "method": environ.get("REQUEST_METHOD", "GET"),
        "path": environ.get("PATH_INFO", "/"),
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
        "body": base64.b64encode(body).decode(),
    }


def replay(app: Any, record: dict) -> int:
    """Send a journaled request to `app` (moto) again; returns the status."""
    builder = EnvironBuilder(
        path=record["path"], method=record["method"], query_string=record["query"] or None,
        headers={k: v for k, v in record["headers"].items() if k != "content-type"},
        content_type=record["headers"].get("content-type"), data=base64.b64decode(record["body"]),
    )
    environ = builder.get_environ()
    status: list[str] = []

    def start(line: str, headers: list, exc_info: Any = None) -> Any:
        status.append(line)
        return lambda _data: None

    for _ in app(environ, start):
        pass
    code = int(status[0].split(" ", 1)[0]) if status else 500
    if code >= 300:
        log.debug("journal replay of %s %s got %s (skipped)", record["method"], record["path"], code)
    return code
