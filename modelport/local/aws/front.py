"""The WSGI front of the embedded AWS: one port for moto and for what moto cannot run.

Routing, in order:

* Lambda `Invoke` → the in-process `LambdaRegistry`;
* SageMaker control plane (`X-Amz-Target: SageMaker.*`) and runtime
  (`POST /endpoints/<name>/invocations`) → the local SageMaker, when one is attached;
* API Gateway `FlushStageAuthorizersCache` → the callback the local gateway registered;
* everything else → moto's server application, with fixes on the way: the first Step
  Functions request loads `sfn_compat`, a `StartExecution` without a name gets a UUID,
  and S3 uploads (PutObject, UploadPart) are checked against their checksums (`s3_checksums`).
  "moto" here is moto behind the write-ahead journal (`journal.Durable`), which also
  serves DynamoDB requests one at a time (moto's transactions need it).
  Application Auto Scaling stays moto's (its shapes and validation are right); the front
  tells the local SageMaker after a change to a `sagemaker` scalable target or policy, so
  it applies the new bounds at once.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from modelport.local.aws import sfn_compat
from modelport.local.aws.lambdas import LambdaRegistry
from modelport.local.aws.s3_checksums import check_upload, is_s3_upload

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

_RUNTIME_PATH = re.compile(r"^/endpoints/[^/]+/invocations$")
_FLUSH_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)/cache/authorizers/?$")
_AUTOSCALING_HOOKED = {
    "RegisterScalableTarget",
    "DeregisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
}


class ScalingObserver(Protocol):
    def scaling_changed(self, operation: str, request: dict[str, Any]) -> None: ...


class Front:
    """WSGI application on the embedded AWS port."""

    def __init__(self, moto_app: WSGIApp, lambdas: LambdaRegistry) -> None:
        self.moto_app = moto_app
        self.lambdas = lambdas
        self.sagemaker_app: WSGIApp | None = None
        self.scaling_observer: ScalingObserver | None = None
        self._flushers: dict[tuple[str, str], Callable[[], None]] = {}
        self._lock = threading.Lock()

    # -- wiring -------------------------------------------------------------------------
    def attach_sagemaker(self, app: WSGIApp, observer: ScalingObserver | None = None) -> None:
        """Route SageMaker and SageMaker runtime to `app` (the local SageMaker)."""
        self.sagemaker_app = app
        self.scaling_observer = observer

    def register_authorizer_cache(
        self, rest_api_id: str, stage: str, flush: Callable[[], None]
    ) -> None:
        """Let `FlushStageAuthorizersCache` on `rest_api_id`/`stage` call `flush`."""
        with self._lock:
            self._flushers[(rest_api_id, stage)] = flush

    # -- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ, shallow=False)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if self.lambdas.matches(request):
            return self.lambdas.handle(request)(environ, start_response)
        if self.sagemaker_app is not None and (
            target.startswith("SageMaker.")
            or (request.method == "POST" and _RUNTIME_PATH.match(request.path))
        ):
            return self.sagemaker_app(environ, start_response)
        flush = _FLUSH_PATH.match(request.path)
        if flush and request.method == "DELETE":
            return self._flush(flush["api"], flush["stage"])(environ, start_response)
        operation = target.rsplit(".", 1)[-1]
        if target.startswith("AnyScaleFrontendService.") and operation in _AUTOSCALING_HOOKED:
            return self._autoscaling(environ, start_response, operation)
        if target.startswith("AWSStepFunctions."):
            # Importing moto's interpreter takes a second or two: pay it on first use.
            sfn_compat.apply()
            if target == "AWSStepFunctions.StartExecution":
                _default_execution_name(environ)
        elif is_s3_upload(environ):
            refused = check_upload(environ)
            if refused is not None:
                return refused(environ, start_response)
        return self.moto_app(environ, start_response)

    def _flush(self, api: str, stage: str) -> Response:
        with self._lock:
            flush = self._flushers.get((api, stage))
        if flush is None:
            body = {"message": f"Invalid API identifier or stage specified: {api}/{stage}"}
            return Response(
                json.dumps(body), status=404, content_type="application/json",
                headers={"x-amzn-ErrorType": "NotFoundException"},
            )
        flush()
        return Response(b"", status=202)

    def _autoscaling(self, environ: dict, start_response: Callable, operation: str) -> Any:
        body = _read_body(environ)
        status: list[str] = []

        def capture(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        result = self.moto_app(environ, capture)
        observer = self.scaling_observer
        if observer is not None and status and status[0].startswith("2"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = {}
            if payload.get("ServiceNamespace") == "sagemaker":
                observer.scaling_changed(operation, payload)
        return result


def _read_body(environ: dict) -> bytes:
    """Read the request body and put it back for the application behind."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    _set_body(environ, body)
    return body


def _set_body(environ: dict, body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _default_execution_name(environ: dict) -> None:
    """StartExecution without a name gets a UUID, as on AWS (moto would name it "None")."""
    body = _read_body(environ)
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return
    if isinstance(payload, dict) and not payload.get("name"):
        payload["name"] = str(uuid.uuid4())
        _set_body(environ, json.dumps(payload).encode())
