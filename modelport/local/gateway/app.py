"""The local API Gateway as a raw ASGI application.

Per request: match the route table → (unless public) run the REQUEST authorizer under
API Gateway's caching rule → either call the route's Lambda with a proxy event, or, on
inference routes, call SageMaker runtime `InvokeEndpoint` directly on the endpoint the
authorizer named (`context.endpoint`), adding the OIP v2 custom attribute on `/v2` routes.
That is what the Api stack builds on AWS (infra/constructs/inference.py). Refusals use the
gateway responses of contracts.md ("Authorizer refusals").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import orjson

from functions.apigw import (
    ACCESS_DENIED_TEMPLATE,
    BINARY_EXTENSION_HEADER,
    INFERENCE_HEADERS,
    INFERENCE_ID_RESPONSE_HEADER,
    MODEL_ERROR_STATUS,
    SAGEMAKER_ERRORS,
    UNMATCHED,
    error_body,
    model_error,
    oip_v2_request,
    render_gateway_response,
)
from modelport.local.gateway.authorizer import (
    AuthorizerCache,
    AuthorizerFailure,
    Decision,
    RequestValues,
    Unauthorized,
    decision_from,
)
from modelport.local.gateway.console import ConsoleSite
from modelport.local.gateway.events import (
    Incoming,
    Stage,
    authorizer_event,
    decode_result,
    proxy_event,
    request_context,
)
from modelport.local.gateway.routing import Router

log = logging.getLogger(__name__)

InvokeLambda = Callable[[str, dict], Any]
#: `invoke(endpoint, body, content_type=, accept=, custom_attributes=, inference_id=)` → result with
#: `body`, `content_type`, `variant`, `custom_attributes`; raises an error with `code`,
#: `message`, `status` (the local SageMaker's `invoke` and `SageMakerError`).
InvokeEndpoint = Callable[..., Any]

#: the answer names its inference id, the request id passed as InvokeEndpoint's InferenceId
#: (functions.apigw, shared with the Api stack): labels posted for it join the capture.
INFERENCE_ID_HEADER = INFERENCE_ID_RESPONSE_HEADER.lower().encode()
#: SageMaker runtime statuses the Api stack passes through; anything else becomes 500.
PASSTHROUGH = frozenset({400, 404, 413, 415, 424, 429, 500, 503})
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
UNAUTHENTICATED = ("Unauthenticated", "missing or invalid API key")
REVOKE_KEY = ("DELETE", "/v1/keys/{key_id}")
_JSON = (b"content-type", b"application/json")


class GatewayApp:
    """ASGI app; `cache.flush()` is what `FlushStageAuthorizersCache` calls."""

    def __init__(
        self,
        invoke_lambda: InvokeLambda,
        invoke_endpoint: InvokeEndpoint | None = None,
        *,
        stage: Stage | None = None,
        cache: AuthorizerCache | None = None,
        authorizer_function: str = "authorizer",
        workers: int = 16,
        console: ConsoleSite | None = None,
        ainvoke_endpoint: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.invoke_lambda = invoke_lambda
        self.invoke_endpoint = invoke_endpoint
        #: the same on the event loop (no thread hop per inference request), when given
        self.ainvoke_endpoint = ainvoke_endpoint
        self.stage = stage if stage is not None else Stage()
        self.cache = cache if cache is not None else AuthorizerCache(known_context=known_context(self.stage))
        self.authorizer_function = authorizer_function
        self.router = Router()
        #: the web console's static files at /console/ (not part of the API on AWS: CloudFront serves them)
        self.console = console
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gateway")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # -- ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request_id = Incoming.new_request_id()
        try:
            status, headers, body = await self._handle(scope, receive, request_id)
        except Exception:
            log.exception("gateway failure")
            status, headers, body = _error(500, "InternalError", "Internal server error")
        headers.append((b"x-amzn-requestid", request_id.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: dict, receive: Callable, request_id: str) -> tuple[int, list, bytes]:
        method = scope["method"]
        if self.console is not None:
            served = self.console.respond(method, scope["path"])
            if served is not None:
                return served
        raw_path = scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0] or scope["path"]
        found = self.router.match(method, raw_path)
        if found is None:
            return _error(404, "NotFound", f"no route for {method} {scope['path']}")
        body = await _read_body(receive)
        if body is None:
            return _error(413, "PayloadTooLarge", f"the request body exceeds {MAX_BODY} bytes")
        incoming = _incoming(scope, method, body, request_id)
        route, params = found.route, found.params
        authorizer: dict[str, str] | None = None
        if not route.public:
            outcome = await self._authorize(route, incoming, params)
            if isinstance(outcome, tuple):
                return outcome
            authorizer = {**outcome.context, "principalId": outcome.principal_id}
        if route.inference:
            return await self._infer(route, incoming, authorizer or {}, request_id)
        event = proxy_event(self.stage, route, incoming, params, authorizer)
        try:
            result = decode_result(await self._run(self.invoke_lambda, route.function, event))
        except Exception as exc:  # noqa: BLE001 - a failed integration is API Gateway's 502
            log.warning("integration %s failed: %s: %s", route.function, type(exc).__name__, exc)
            return _error(502, "InternalError", "Internal server error")
        if (route.method, route.path) == REVOKE_KEY and result[0] < 300:
            # contracts.md: in local mode a revoked key stops working at once.
            self.cache.flush()
        return result

    async def _authorize(self, route: Any, incoming: Incoming, params: dict[str, str]) -> Decision | tuple:
        try:
            values = RequestValues(incoming.headers, incoming.query, self.stage.variables,
                                   request_context(self.stage, route, incoming, time.time()))
            key = self.cache.identity(route, values)
            decision = self.cache.cached(key)
            if decision is None:
                decision = await self._call_authorizer(route, incoming, params)
                self.cache.store(key, decision)
        except Unauthorized:
            return _error(401, *UNAUTHENTICATED)
        except AuthorizerFailure as exc:
            log.warning("authorizer failure: %s", exc)
            return _error(500, "AuthorizerConfigurationException", "Internal server error")
        if not decision.allows(self.stage.method_arn(incoming.method, incoming.path)):
            # the ACCESS_DENIED gateway response, rendered as API Gateway renders it
            variables = {f"authorizer.{k}": v for k, v in decision.context.items()}
            return 403, [_JSON], render_gateway_response(ACCESS_DENIED_TEMPLATE, variables).encode("utf-8")
        return decision

    async def _call_authorizer(self, route: Any, incoming: Incoming, params: dict[str, str]) -> Decision:
        self.cache.calls += 1
        event = authorizer_event(self.stage, route, incoming, params)
        try:
            answer = await self._run(self.invoke_lambda, self.authorizer_function, event)
        except Exception as exc:  # noqa: BLE001 - "Unauthorized" is the 401 contract; anything else is a 500
            if str(exc) == "Unauthorized":
                raise Unauthorized() from None
            raise AuthorizerFailure(f"{type(exc).__name__}: {exc}") from None
        return decision_from(answer)

    async def _infer(
        self, route: Any, incoming: Incoming, context: dict[str, str], request_id: str
    ) -> tuple[int, list, bytes]:
        endpoint = context.get("endpoint")
        if not endpoint or (self.invoke_endpoint is None and self.ainvoke_endpoint is None):
            return _error(500, "InternalError", "Internal server error")
        forwarded = {h: incoming.header(h) for h in INFERENCE_HEADERS}
        content_type, attributes = forwarded["Content-Type"], None
        if route.oip_v2:  # the /v2 integration's mapping template (functions.apigw)
            content_type, attributes = oip_v2_request(content_type, incoming.header(BINARY_EXTENSION_HEADER))
        arguments = {
            "content_type": content_type, "accept": forwarded["Accept"],
            "target_variant": forwarded["X-Amzn-SageMaker-Target-Variant"],
            "custom_attributes": attributes, "inference_id": request_id,
        }  # fmt: skip
        try:
            if self.ainvoke_endpoint is not None:
                result = await self.ainvoke_endpoint(endpoint, incoming.body, **arguments)
            else:
                result = await self._run(self.invoke_endpoint, endpoint, incoming.body, **arguments)
        except Exception as exc:  # noqa: BLE001 - mapped as the Api stack's integration responses map them
            return _sagemaker_error(exc)
        headers = [(b"content-type", (result.content_type or "application/json").encode("latin-1")),
                   (INFERENCE_ID_HEADER, request_id.encode("latin-1"))]
        if result.variant:
            headers.append((b"x-amzn-invoked-production-variant", result.variant.encode("latin-1")))
        return 200, headers, result.body


def known_context(stage: Stage) -> dict[str, Any]:
    """A request context of this gateway: what `context.<name>` identity sources may name."""
    from functions.routes import ROUTES

    sample = Incoming("POST", "/", {}, {}, {}, {}, b"", "127.0.0.1", "sample")
    return request_context(stage, ROUTES[0], sample, 0.0)


async def _read_body(receive: Callable) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _incoming(scope: dict, method: str, body: bytes, request_id: str) -> Incoming:
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").title()
        value = raw_value.decode("latin-1")
        headers[name] = value
        multi.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    client = scope.get("client") or ("127.0.0.1", 0)
    return Incoming(method, scope["path"], headers, multi, query, multi_query, body, client[0], request_id)


def _sagemaker_error(exc: Exception) -> tuple[int, list, bytes]:
    """SageMaker's error → what the Api stack's integration responses make of it
    (functions.apigw): the model's own status and body for a ModelError, a fixed platform
    error for SageMaker's own, 502 for anything else; never SageMaker's fields."""
    status = getattr(exc, "status", 500)
    if status == MODEL_ERROR_STATUS:
        mapped, body = model_error(dict(getattr(exc, "fields", {})))
        return mapped, [_JSON], body
    code, message = SAGEMAKER_ERRORS.get(status, UNMATCHED[1:])
    return (status if status in SAGEMAKER_ERRORS else UNMATCHED[0]), [_JSON], error_body(code, message).encode()


def _error(status: int, code: str, message: str) -> tuple[int, list, bytes]:
    return status, [_JSON], orjson.dumps({"error": {"code": code, "message": message}})
