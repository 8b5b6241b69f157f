"""The inference server: a raw ASGI application (no web framework on the hot path).

Routes:

* SageMaker: ``GET /ping``, ``POST /invocations`` (JSON in every MLflow/SageMaker format,
  CSV, ``.npy``; OIP v2 bodies recognised by shape or by
  ``X-Amzn-SageMaker-Custom-Attributes: modelport-protocol=oip-v2``),
  ``GET /execution-parameters`` (batch transform).
* MLflow scoring server: ``GET /health``, ``GET /version``, ``POST /invocations``.
* Open Inference Protocol v2: ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``,
  ``GET /v2/models/{name}[/versions/{v}]``, ``.../ready``, ``POST .../infer``.

Errors are mapped to statuses in one table; bodies are ``{"error": {"code", "message"}}``
except on ``/v2`` routes and OIP requests, which use the OIP shape ``{"error": "message"}``.
"""

from __future__ import annotations

import logging

import orjson

from model_containers.errors import (
    ContainerError,
    InvalidInput,
    MethodNotAllowed,
    ModelNotFound,
    ModelNotReady,
    NotAcceptable,
    PayloadTooLarge,
    PredictionFailed,
    RouteNotFound,
    UnsupportedMediaType,
)
from model_containers.logs import configure_logging
from model_containers.serving.codecs import oip, sagemaker
from model_containers.serving.codecs.sagemaker import CSV, JSON, NPY
from model_containers.serving.dataplane import DataPlane
from model_containers.settings import ContainerSettings

log = logging.getLogger("model_containers.serving")

STATUS = {
    InvalidInput: 400, ModelNotFound: 404, RouteNotFound: 404, MethodNotAllowed: 405,
    NotAcceptable: 406, PayloadTooLarge: 413, UnsupportedMediaType: 415,
    PredictionFailed: 500, ModelNotReady: 503,
}
_MEDIA = {b"application/json": JSON, b"text/csv": CSV, b"application/x-npy": NPY,
          b"application/octet-stream": None}
_ACCEPT_ANY = (None, b"application/json", b"*/*", b"application/*")
_CTYPE = {JSON: b"application/json", CSV: b"text/csv", NPY: b"application/x-npy"}
_OIP_ATTR = b"modelport-protocol=oip-v2"
#: set by the API's /v2 mapping (functions.apigw.OIP_V2_REQUEST_TEMPLATE): a binary-extension
#: request arrived without a binary media type, so API Gateway passed it on as UTF-8 text.
_UNTYPED_BINARY = b"modelport-binary=untyped"
_OCTET_STREAM = b"application/octet-stream"
_EMPTY = b""


def status_of(exc: ContainerError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def media_type(raw: bytes | None) -> str | None:
    """The media type of a Content-Type header, without parameters; None when absent."""
    if raw is None:
        return None
    if raw in _MEDIA:
        return _MEDIA[raw]
    base = raw.split(b";", 1)[0].strip().lower()
    if base in _MEDIA and _MEDIA[base] is not None:
        return _MEDIA[base]
    raise UnsupportedMediaType("content type must be application/json, text/csv or application/x-npy")


def accept_type(raw: bytes | None) -> str:
    if raw in _ACCEPT_ANY:
        return JSON
    for part in raw.split(b","):
        base = part.split(b";", 1)[0].strip().lower()
        if base in (b"*/*", b"application/*"):
            return JSON
        if _MEDIA.get(base):
            return _MEDIA[base]
    raise NotAcceptable("Accept must allow application/json, text/csv or application/x-npy")


class ServingApp:
    """ASGI callable; one instance per worker process."""

    def __init__(self, settings: ContainerSettings) -> None:
        self.settings = settings
        self.dp = DataPlane(settings)
        self.max_body = settings.max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.dp.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        path = scope["path"]
        oip_errors = path.startswith("/v2")
        ctype = b"application/json"
        ticket = None
        try:
            if path == "/invocations":
                if scope["method"] != "POST":
                    raise MethodNotAllowed("use POST")
                # an OIP request (by attribute) gets OIP's error shape, as on /v2
                oip_errors = _OIP_ATTR in (self._headers(scope)[3] or _EMPTY)
                ticket = self.dp.arrive()
                status, ctype, body, oip_errors = await self._invocations(scope, receive, ticket)
            elif path == "/ping" or path == "/health":
                status, body = (200, b"{}") if self.dp.ready else (503, b'{"status":"unready"}')
            elif oip_errors:
                if path.endswith("/infer"):
                    ticket = self.dp.arrive()
                status, body = await self._v2(scope, receive, path, ticket)
            elif path == "/execution-parameters":
                status, body = 200, orjson.dumps({"MaxConcurrentTransforms": self.settings.worker_count,
                                                  "BatchStrategy": "MULTI_RECORD",
                                                  "MaxPayloadInMB": self.max_body // (1024 * 1024)})
            elif path == "/version":
                status, body = 200, orjson.dumps({"server": "modelport"})
            else:
                raise RouteNotFound("no such route")
        except ContainerError as exc:
            status = status_of(exc)
            ctype = b"application/json"
            body = orjson.dumps({"error": exc.message} if oip_errors
                                else {"error": {"code": exc.code, "message": exc.message}})
            if status >= 500 and not isinstance(exc, ModelNotReady):
                log.error("request failed: %s", exc.message)
        except Exception:  # never leak internals to the caller
            log.exception("unexpected error")
            status, ctype = 500, b"application/json"
            body = (b'{"error":"internal error"}' if oip_errors
                    else b'{"error":{"code":"internal_error","message":"internal error"}}')
        finally:
            # Also on cancellation (client gone): a leaked count would stall every batch.
            if ticket is not None:
                self.dp.leave(ticket)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, receive, declared: bytes | None) -> bytes:
        if declared is not None and not declared.isdigit():
            raise InvalidInput("Content-Length must be an integer")
        if declared is not None and int(declared) > self.max_body:
            raise PayloadTooLarge(f"the body is over the {self.max_body}-byte limit")
        message = await receive()
        body = message.get("body", _EMPTY)
        if not message.get("more_body"):
            if len(body) > self.max_body:
                raise PayloadTooLarge(f"the body is over the {self.max_body}-byte limit")
            return body
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", _EMPTY)
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(f"the body is over the {self.max_body}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _headers(scope):
        ctype = accept = length = attrs = header_len = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                ctype = value
            elif key == b"accept":
                accept = value
            elif key == b"content-length":
                length = value
            elif key == b"x-amzn-sagemaker-custom-attributes":
                attrs = value
            elif key == b"inference-header-content-length":
                header_len = value
        return ctype, accept, length, attrs, header_len

    async def _invocations(self, scope, receive, ticket):
        ctype, accept, length, attrs, header_len = self._headers(scope)
        wants_oip = attrs is not None and _OIP_ATTR in attrs
        if wants_oip and _UNTYPED_BINARY in attrs:
            raise UnsupportedMediaType(
                "the binary tensor extension (Inference-Header-Content-Length) needs Content-Type: "
                "application/octet-stream through the API, which passes a body of any other type as UTF-8 text; "
                "send that header, or JSON tensors (binary_data=False)"
            )
        if wants_oip and header_len is None and ctype is not None and ctype.split(b";", 1)[0].strip() == _OCTET_STREAM:
            # the binary extension through the API: SageMaker passes no Inference-Header-Content-Length
            body = await self._read_body(receive, length)
            return 200, b"application/json", await self._oip_infer(body, _json_header_length(body), ticket), True
        media = JSON if (ctype is None or (wants_oip and header_len is not None)) else media_type(ctype)
        if media is None:
            raise UnsupportedMediaType("content type must be application/json, text/csv or application/x-npy")
        body = await self._read_body(receive, length)
        schema = self.dp.require_schema()
        if media is JSON:
            if wants_oip or header_len is not None:
                return 200, b"application/json", await self._oip_infer(body, header_len, ticket), True
            obj = sagemaker.parse_json(body)
            if sagemaker.is_oip_body(obj):
                return 200, b"application/json", await self._oip_infer(obj, None, ticket), True
            out = accept_type(accept)
            method = sagemaker.inference_method(obj)
            batch = sagemaker.decode_json(obj, schema)
        else:
            out = accept_type(accept)
            method = "predict"
            batch = sagemaker.decode_csv(body, schema) if media is CSV else sagemaker.decode_npy(body, schema)
        pred = await self.dp.infer(batch, ticket, method)
        return 200, _CTYPE[out], sagemaker.encode(pred, out), False

    async def _oip_infer(self, body, header_len: bytes | None, ticket=None) -> bytes:
        binary = None
        if isinstance(body, (bytes, bytearray)):
            if header_len is not None:
                try:
                    n = int(header_len)
                except ValueError:
                    raise InvalidInput("Inference-Header-Content-Length must be an integer") from None
                if not 0 < n <= len(body):
                    raise InvalidInput("Inference-Header-Content-Length is larger than the body")
                binary = memoryview(body)[n:]
                body = body[:n]
            body = sagemaker.parse_json(body)
        request = oip.decode(body, self.dp.require_schema(), binary)
        labels = [s.name for s in self.dp.output_specs]
        method = oip.method_for(request, labels, self.dp.proba_names)
        pred = await self.dp.infer(request.batch, ticket, method)
        return oip.encode(pred, request, self.dp.name, self.dp.version, labels, self.dp.proba_names, method)

    async def _v2(self, scope, receive, path: str, ticket=None):
        method = scope["method"]
        parts = path.rstrip("/").split("/")[2:]
        if not parts:
            return 200, orjson.dumps({"name": "modelport", "version": "1",
                                      "extensions": ["binary_tensor_data"]})
        if parts[0] == "health" and len(parts) == 2 and parts[1] in ("live", "ready"):
            if method != "GET":
                raise MethodNotAllowed("use GET")
            ready = parts[1] == "live" or self.dp.ready
            return (200, b'{"ready":true}' if parts[1] == "ready" else b'{"live":true}') if ready \
                else (503, b'{"ready":false}')
        if parts[0] != "models" or len(parts) < 2:
            raise RouteNotFound("no such OIP route")
        name, rest = parts[1], parts[2:]
        version = None
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
        action = rest[0] if len(rest) == 1 else None if not rest else "?"
        if action == "ready" and not self.dp.ready:
            # Until the manifest is read the model's own name is unknown: not ready, not 404.
            return 503, orjson.dumps({"name": name, "ready": False})
        self.dp.check_model(name, version)
        if action is None:
            if method != "GET":
                raise MethodNotAllowed("use GET")
            if not self.dp.ready:
                raise ModelNotReady(f"the model is {self.dp.state}")
            return 200, orjson.dumps(self.dp.metadata())
        if action == "ready":
            if method != "GET":
                raise MethodNotAllowed("use GET")
            return 200, orjson.dumps({"name": name, "ready": True})
        if action == "infer":
            if method != "POST":
                raise MethodNotAllowed("use POST")
            ctype, _, length, _, header_len = self._headers(scope)
            if header_len is None and ctype is not None and media_type(ctype) is not JSON:
                raise UnsupportedMediaType("OIP requests are application/json")
            body = await self._read_body(receive, length)
            return 200, await self._oip_infer(body, header_len, ticket)
        raise RouteNotFound("no such OIP route")


def _json_header_length(body: bytes) -> bytes:
    """Where the binary extension's leading JSON header ends (the Inference-Header-Content-Length
    a client sent, which SageMaker does not pass on). Every byte maps to one character in
    latin-1 and JSON's structure is ASCII, so the decoder's end index is the byte offset."""
    import json

    try:
        _, end = json.JSONDecoder().raw_decode(body.decode("latin-1"))
    except ValueError:
        raise InvalidInput("an OIP binary request starts with its JSON header") from None
    return str(end).encode()


def create_app(settings: ContainerSettings | None = None) -> ServingApp:
    """The ASGI app for one worker (uvicorn calls this as a factory in each process)."""
    settings = settings or ContainerSettings()
    configure_logging(settings.log_level)  # worker processes start without the parent's set-up
    return ServingApp(settings)
