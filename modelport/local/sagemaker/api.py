"""The local SageMaker over HTTP: JSON 1.1 control plane (`X-Amz-Target: SageMaker.<Op>`)
and the runtime's REST `POST /endpoints/<name>/invocations`, as boto3 speaks them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from modelport.local.sagemaker.runtime import InvokeResult
from modelport.local.sagemaker.shapes import (
    SageMakerError,
    error_body,
    operation,
    operation_names,
    parse_input,
    shape_output,
)

log = logging.getLogger(__name__)

_JSON = "application/x-amz-json-1.1"
_RUNTIME_PREFIX, _RUNTIME_SUFFIX = "/endpoints/", "/invocations"

Invoke = Callable[..., InvokeResult]


class SageMakerApp:
    """WSGI application; `operations` maps operation names to handlers of boto3 params."""

    def __init__(self, operations: dict[str, Callable[[dict], dict]], invoke: Invoke) -> None:
        self._operations = operations
        self._invoke = invoke

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith(_RUNTIME_PREFIX) and path.endswith(_RUNTIME_SUFFIX):
            response = self._runtime(request)
        elif request.headers.get("X-Amz-Target", "").startswith("SageMaker."):
            response = self._control(request)
        else:
            response = _json_error(
                SageMakerError("UnknownOperationException", f"No SageMaker operation at {path}", 404)
            )
        return response(environ, start_response)

    def _control(self, request: Request) -> Response:
        name = request.headers["X-Amz-Target"].split(".", 1)[1]
        try:
            handler = self._operations.get(name)
            if handler is None:
                supported = name in operation_names()
                raise SageMakerError(
                    "UnknownOperationException",
                    f"{name} is not supported by the local SageMaker"
                    if supported else f"Unknown operation {name}",
                )
            op = operation(name)
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError as exc:
                raise SageMakerError("SerializationException", f"Malformed JSON body: {exc}") from exc
            result = handler(parse_input(op, body))
            payload = json.dumps(shape_output(op, result))
            return Response(payload, status=200, content_type=_JSON, headers=_request_id())
        except SageMakerError as exc:
            return _json_error(exc)
        except Exception:
            log.exception("local SageMaker: %s failed", name)
            return _json_error(SageMakerError("InternalFailure", "Internal error in the local SageMaker", 500))

    def _runtime(self, request: Request) -> Response:
        endpoint = unquote(request.path[len(_RUNTIME_PREFIX) : -len(_RUNTIME_SUFFIX)])
        try:
            result = self._invoke(
                endpoint,
                request.get_data(),
                content_type=request.headers.get("Content-Type"),
                accept=request.headers.get("Accept"),
                custom_attributes=request.headers.get("X-Amzn-SageMaker-Custom-Attributes"),
                target_variant=request.headers.get("X-Amzn-SageMaker-Target-Variant"),
                inference_id=request.headers.get("X-Amzn-SageMaker-Inference-Id"),
            )
        except SageMakerError as exc:
            return _json_error(exc, rest=True)
        except Exception:
            log.exception("local SageMaker runtime: invocation of %s failed", endpoint)
            return _json_error(SageMakerError("InternalFailure", "Internal error in the local SageMaker", 500), rest=True)
        headers = {**_request_id(), "x-Amzn-Invoked-Production-Variant": result.variant}
        if result.custom_attributes is not None:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
        return Response(result.body, status=200, content_type=result.content_type, headers=headers)


def _request_id() -> dict[str, str]:
    return {"x-amzn-RequestId": str(uuid.uuid4())}


def _json_error(error: SageMakerError, rest: bool = False) -> Response:
    headers = {**_request_id(), "x-amzn-ErrorType": error.code}
    body = error_body(error)
    if rest:
        body.pop("__type", None)
    return Response(
        json.dumps(body), status=error.status,
        content_type="application/json" if rest else _JSON, headers=headers,
    )
