"""API Gateway REST (v1 payload) events: the REQUEST-authorizer event and the proxy event."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.routes import Route

_IDENTITY_FIELDS = (
    "cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "sourceIp", "principalOrgId",
    "accessKey", "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "userAgent", "user",
)
#: (API Gateway base64-encodes only the API's binary media types; a JSON Merge Patch, RFC 7386, is text)
_TEXT_TYPES = ("application/json", "application/merge-patch+json", "text/", "application/x-www-form-urlencoded",
               "application/xml")


@dataclass(frozen=True)
class Stage:
    """Where the API lives: what ARNs and request contexts name."""

    api_id: str = "local"
    stage: str = "local"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    domain: str = "127.0.0.1"
    #: stage variables (`stageVariables.<name>`); the Api stack sets none.
    variables: dict[str, str] = field(default_factory=dict)

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/{method}{path}"


@dataclass
class Incoming:
    """One HTTP request, as the gateway read it."""

    method: str
    path: str
    headers: dict[str, str]
    multi_headers: dict[str, list[str]]
    query: dict[str, str]
    multi_query: dict[str, list[str]]
    body: bytes
    source_ip: str
    request_id: str

    @classmethod
    def new_request_id(cls) -> str:
        return str(uuid.uuid4())

    def header(self, name: str) -> str | None:
        return self.headers.get(name.title()) or self.headers.get(name)


def request_context(stage: Stage, route: Route, incoming: Incoming, now: float) -> dict[str, Any]:
    when = datetime.fromtimestamp(now, UTC)
    return {
        "resourceId": "local",
        "resourcePath": route.path,
        "httpMethod": incoming.method,
        "extendedRequestId": incoming.request_id,
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{stage.stage}{incoming.path}",
        "accountId": stage.account_id,
        "protocol": "HTTP/1.1",
        "stage": stage.stage,
        "domainPrefix": stage.api_id,
        "requestTimeEpoch": int(now * 1000),
        "requestId": incoming.request_id,
        "identity": {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
            "sourceIp": incoming.source_ip, "principalOrgId": None, "accessKey": None,
            "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
            "userAgent": incoming.header("User-Agent"), "user": None,
        },
        "domainName": stage.domain,
        "apiId": stage.api_id,
    }


def _identity(incoming: Incoming) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_FIELDS)
    identity.update(sourceIp=incoming.source_ip, userAgent=incoming.header("User-Agent"))
    return identity


def authorizer_event(stage: Stage, route: Route, incoming: Incoming, params: dict[str, str]) -> dict[str, Any]:
    """The event of a REQUEST authorizer (no body, as API Gateway sends it)."""
    now = time.time()
    return {
        "type": "REQUEST",
        "methodArn": stage.method_arn(incoming.method, incoming.path),
        "resource": route.path,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": dict(incoming.headers),
        "multiValueHeaders": dict(incoming.multi_headers),
        "queryStringParameters": dict(incoming.query),
        "multiValueQueryStringParameters": dict(incoming.multi_query),
        "pathParameters": dict(params),
        "stageVariables": dict(stage.variables),
        "requestContext": request_context(stage, route, incoming, now),
    }


def proxy_event(
    stage: Stage, route: Route, incoming: Incoming, params: dict[str, str], authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    """A Lambda proxy integration event (REST API, payload format 1.0)."""
    context = request_context(stage, route, incoming, time.time())
    if authorizer is not None:
        context["authorizer"] = authorizer
    body, encoded = encode_body(incoming.body, incoming.header("Content-Type"))
    return {
        "resource": route.path,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": dict(incoming.headers) or None,
        "multiValueHeaders": dict(incoming.multi_headers) or None,
        "queryStringParameters": dict(incoming.query) or None,
        "multiValueQueryStringParameters": dict(incoming.multi_query) or None,
        "pathParameters": dict(params) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def encode_body(raw: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """Text bodies go as strings; bytes that are not UTF-8 go base64-encoded."""
    if not raw:
        return None, False
    textual = content_type is None or content_type.lower().startswith(_TEXT_TYPES)
    if textual:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), True


def decode_result(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A proxy integration's answer → status, headers, body; ValueError when malformed."""
    if not isinstance(result, dict) or "statusCode" not in result:
        raise ValueError("the integration answered no statusCode")
    status = int(result["statusCode"])
    headers: list[tuple[bytes, bytes]] = []
    seen: set[str] = set()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        seen.add(name.lower())
        headers += [(name.encode("latin-1"), str(v).encode("latin-1")) for v in values]
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in seen:
            headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return status, headers, data
