"""The HTTP edge of the control plane: errors → statuses, caller identity, paging, limits.

This is the one table that maps the core's error families to HTTP statuses and to the
body `{"error": {"code", "message"}}` (plus `fields` for invalid input). Handlers install
it on their resolver with `install(app, logger)`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Generic, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from functions.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    UnsupportedMediaType,
)
from functions.core.models import Principal, Role
from functions.core.ports import Context
from functions.core.records import Page

T = TypeVar("T")

#: The one mapping of error families to statuses.
STATUS: tuple[tuple[type[DomainError], HTTPStatus], ...] = (
    (InvalidInput, HTTPStatus.BAD_REQUEST),
    (Unauthenticated, HTTPStatus.UNAUTHORIZED),
    (Forbidden, HTTPStatus.FORBIDDEN),
    (NotFound, HTTPStatus.NOT_FOUND),
    (Conflict, HTTPStatus.CONFLICT),
    (PayloadTooLarge, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (UnsupportedMediaType, HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    (PreconditionFailed, HTTPStatus.PRECONDITION_FAILED),
    (PreconditionRequired, HTTPStatus.PRECONDITION_REQUIRED),
)

JSON_MEDIA = frozenset({"application/json"})
MERGE_PATCH = "application/merge-patch+json"

#: One shared metrics set (Powertools keeps it per process); handlers flush it.
metrics = Metrics(namespace="Modelport")


def status_for(error: DomainError) -> HTTPStatus:
    for family, status in STATUS:
        if isinstance(error, family):
            return status
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=error_body(code, message, **extra))


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorResponse(BaseModel):
    """Every error: `{"error": {"code", "message"}}`, plus `fields` for invalid input."""

    error: ErrorBody


def _field_path(loc: Any) -> str:
    parts = [str(p) for p in (loc if isinstance(loc, (list, tuple)) else [loc])]
    if parts and parts[0] in ("body", "query", "path", "header"):
        source, rest = parts[0], parts[1:]
        return f"{source}.{'.'.join(rest)}" if rest else source
    return ".".join(parts)


def install(app: APIGatewayRestResolver, logger: Logger) -> None:
    """Register the error mapping and the JSON body check on `app` (sizes: see `resolve`)."""

    @app.exception_handler(DomainError)
    def _domain(error: DomainError) -> Response:
        status = status_for(error)
        logger.info("request refused", extra={"code": error.code, "status": int(status)})
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        extra = {"fields": error.fields} if isinstance(error, InvalidInput) and error.fields else {}
        return error_response(status, error.code, error.message, **extra)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        # Powertools answers 422 with pydantic internals; ours is 400 with field paths.
        fields = [{"path": _field_path(e.get("loc", ())), "message": str(e.get("msg", e.get("type")))} for e in error.errors()]
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        return error_response(HTTPStatus.BAD_REQUEST, "InvalidInput", f"invalid request: {summary}", fields=fields)

    @app.exception_handler(RequestUnsupportedContentType)
    def _media(_error: Exception) -> Response:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "send the request body as application/json")

    @app.not_found
    def _no_route(_error: NotFoundError) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "RouteNotFound", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "internal error")

    def _limits(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
        event = app.current_event
        if event.body and event.http_method in ("POST", "PUT", "PATCH"):
            media = (_header(event.headers, "content-type") or "").split(";")[0].strip().lower()
            # a PATCH is a JSON Merge Patch (RFC 7386), whose own media type is accepted too
            allowed = JSON_MEDIA | ({MERGE_PATCH} if event.http_method == "PATCH" else set())
            if media not in allowed or event.is_base64_encoded:
                raise UnsupportedMediaType(
                    "send the request body as application/json"
                    + (" or application/merge-patch+json" if event.http_method == "PATCH" else "")
                )
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        return next_middleware(app)

    app.use(middlewares=[_limits])


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`app.resolve`, after refusing oversized bodies before anything parses them."""
    from functions.adapters import wiring

    settings = wiring.settings()
    body = event.get("body") or ""
    max_body_bytes = settings.max_body_bytes
    if len(body) > max_body_bytes:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        message = f"the request body exceeds {max_body_bytes} bytes"
        result = {
            "statusCode": int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(error_body(PayloadTooLarge.__name__, message)),
            "isBase64Encoded": False,
        }
    else:
        result = app.resolve(event, context)
    return with_cors(result, event, settings.console_origin)


def with_cors(result: dict[str, Any], event: dict[str, Any], origin: str | None) -> dict[str, Any]:
    """CORS for the console's origin only: a request from it may read the answer (and the
    request id); a request from any other origin gets no CORS header, so browsers keep other
    sites' pages from reading it. The key is a bearer header, never a cookie, so nothing is
    sent with credentials (no `Access-Control-Allow-Credentials`)."""
    if not origin:
        return result
    added = {"Vary": "Origin"}
    if _header(event.get("headers"), "origin") == origin:
        added.update({"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "x-amzn-requestid"})
    if "multiValueHeaders" in result:
        multi = dict(result.get("multiValueHeaders") or {})
        multi.update({name: [value] for name, value in added.items()})
        return {**result, "multiValueHeaders": multi}
    return {**result, "headers": {**(result.get("headers") or {}), **added}}


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def caller(router: Router | APIGatewayRestResolver) -> Context:
    """The caller, from the authorizer context (contracts.md): principal, owner, roles, patterns."""
    raw = router.current_event.raw_event
    context = (raw.get("requestContext") or {}).get("authorizer") or {}
    principal = context.get("principal")
    if not principal:
        raise Unauthenticated("no authorized principal on this request")
    try:
        roles = frozenset(Role(r) for r in _split(context.get("roles")))
    except ValueError:
        raise Unauthenticated("the authorizer context carries an unknown role") from None
    return Context(
        actor=Principal(
            id=principal,
            owner=context.get("owner") or None,
            roles=roles,
            patterns=tuple(_split(context.get("patterns"))),
        ),
        request_id=(raw.get("requestContext") or {}).get("requestId") or "unknown",
    )


def _split(value: Any) -> list[str]:
    return [part for part in str(value or "").split(",") if part]


class PageOut(BaseModel, Generic[T]):
    """A page of a listing; pass `cursor` back to get the next one (null on the last page)."""

    items: list[T]
    cursor: str | None = None


def page_out(page: Page[Any]) -> dict[str, Any]:
    return {
        "items": [i.model_dump(mode="json") if isinstance(i, BaseModel) else i for i in page.items],
        "cursor": page.cursor,
    }


def created(body: Any) -> Response:
    return Response(status_code=HTTPStatus.CREATED, content_type=content_types.APPLICATION_JSON, body=body)
