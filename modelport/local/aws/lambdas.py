"""In-process Lambda: a registry of handlers and Lambda's `Invoke` semantics over HTTP.

moto runs no Lambda code without Docker, so the front answers
`POST /2015-03-31/functions/<name|arn>/invocations` here. The answer is shaped like
Lambda's: a handled result is `200` with the JSON payload; an exception is `200` with
`X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage", "stackTrace"}`,
which is what Step Functions reads to match `Catch`/`Retry` error names (the error name
is the exception's class name, as in the Python runtime).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers (and Powertools) read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    timeout_s: float = 900.0
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Function:
    name: str
    handler: Handler
    timeout_s: float
    memory_mb: int


class LambdaRegistry:
    """Function name → in-process handler; answers Lambda `Invoke` for the front."""

    def __init__(self, region: str, account_id: str) -> None:
        self._region = region
        self._account_id = account_id
        self._functions: dict[str, Function] = {}
        self._lock = threading.Lock()

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}"

    def register(
        self, name: str, handler: Handler, *, timeout_s: float = 900.0, memory_mb: int = 1024
    ) -> str:
        """Register (or replace) a handler under a function name; returns the function ARN."""
        with self._lock:
            self._functions[name] = Function(name, handler, timeout_s, memory_mb)
        return self.arn(name)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._functions.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._functions)

    @staticmethod
    def matches(request: Request) -> bool:
        path = request.path
        return (
            request.method == "POST"
            and path.startswith(INVOKE_PREFIX)
            and path.endswith(INVOKE_SUFFIX)
        )

    def resolve(self, identifier: str) -> tuple[Function | None, str]:
        """Resolve a name, a partial ARN (`acct:function:name`) or a full ARN, with qualifier."""
        name, qualifier = identifier, ""
        if identifier.startswith("arn:"):
            parts = identifier.split(":")
            name = parts[6] if len(parts) > 6 else ""
            qualifier = parts[7] if len(parts) > 7 else ""
        elif ":function:" in identifier:
            rest = identifier.split(":function:", 1)[1]
            name, _, qualifier = rest.partition(":")
        elif ":" in identifier:
            name, _, qualifier = identifier.partition(":")
        with self._lock:
            return self._functions.get(name), qualifier

    def invoke(self, name: str, event: Any) -> Any:
        """Call a registered handler directly (what an event source mapping does)."""
        function, _ = self.resolve(name)
        if function is None:
            raise KeyError(f"no in-process handler registered for Lambda function {name!r}")
        return function.handler(event, self._context(function))

    def _context(self, function: Function, version: str = "$LATEST") -> LambdaContext:
        return LambdaContext(
            function_name=function.name,
            invoked_function_arn=self.arn(function.name),
            aws_request_id=str(uuid.uuid4()),
            function_version=version,
            memory_limit_in_mb=function.memory_mb,
            timeout_s=function.timeout_s,
        )

    def handle(self, request: Request) -> Response:
        """Answer one `Invoke` request."""
        identifier = unquote(request.path[len(INVOKE_PREFIX) : -len(INVOKE_SUFFIX)])
        function, qualifier = self.resolve(identifier)
        query = parse_qs(request.query_string.decode())
        qualifier = query.get("Qualifier", [qualifier])[0] or "$LATEST"
        if function is None:
            return _error(
                404,
                "ResourceNotFoundException",
                f"Function not found: {self._full_arn(identifier)} "
                "(no in-process handler is registered under this name)",
            )
        raw = request.get_data()
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _error(
                400,
                "InvalidRequestContentException",
                "Could not parse request body into json: the payload is not valid JSON",
            )
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        context = self._context(function, qualifier)
        headers = {"X-Amz-Executed-Version": qualifier, "x-amzn-RequestId": context.aws_request_id}
        if invocation_type == "DryRun":
            return Response(b"", status=204, headers=headers)
        if invocation_type == "Event":
            threading.Thread(
                target=_run, args=(function, event, context), name=f"lambda-{function.name}",
                daemon=True,
            ).start()
            return Response(b"", status=202, headers=headers)
        payload, failed = _run(function, event, context)
        if failed:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return Response(payload, status=200, headers=headers, content_type="application/json")

    def _full_arn(self, identifier: str) -> str:
        return identifier if identifier.startswith("arn:") else self.arn(identifier)


def _run(function: Function, event: Any, context: LambdaContext) -> tuple[bytes, bool]:
    """Run a handler; return (payload, failed) like the Python runtime would."""
    try:
        result = function.handler(event, context)
    except Exception as exc:  # noqa: BLE001 - every handler failure becomes Lambda's error payload
        log.info("Lambda %s raised %s: %s", function.name, type(exc).__name__, exc)
        return _error_payload(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__)), True
    try:
        return json.dumps(result).encode(), False
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return _error_payload("Runtime.MarshalError", message, []), True


def _error_payload(error_type: str, message: str, stack: list[str]) -> bytes:
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack}
    ).encode()


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "Message": message, "message": message})
    return Response(
        body, status=status, content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )
