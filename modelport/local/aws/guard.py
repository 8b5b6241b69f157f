"""The embedded AWS port's door: only this machine's own, signed, non-browser requests pass.

The port listens on loopback, but loopback is every process of the machine, and every
web page its browser opens. In front of everything else (`Front`, moto, the in-process
Lambda and SageMaker), in this order:

* **Host**: the Host header must name a loopback address (or a `*.localhost` name), so a
  DNS-rebinding page (`evil.example` resolving to 127.0.0.1) is refused;
* **no browsers**: a request carrying `Origin` (every cross-site request a browser sends)
  or a CORS preflight (`OPTIONS`) is refused, and no response carries CORS headers (moto's
  would allow any origin);
* **SigV4 with the run's key** (`sigv4.verify`): unsigned requests, other keys, bad or
  stale signatures are refused as AWS refuses them. The verified signing service is passed
  on as `environ["modelport.aws.service"]` (the S3 checksum check relies on it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from werkzeug.wsgi import get_input_stream

from modelport.local.aws.credentials import Credentials
from modelport.local.aws.sigv4 import AuthFailure, verify

SERVICE_KEY = "modelport.aws.service"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class Guard:
    """WSGI middleware: Host check, no CORS, SigV4 with the run's key."""

    def __init__(self, app: Callable, credentials: Credentials, *, host: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self.credentials = credentials
        self._hosts = _LOOPBACK | {host.lower()}
        self._clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = _hostname(environ.get("HTTP_HOST", ""))
        if not (host in self._hosts or host.endswith(".localhost")):
            return _refuse(environ, start_response, "InvalidHost", f"the Host header {host!r} is not this machine's "
                           "loopback address (a DNS-rebinding page would send its own name)")
        if "HTTP_ORIGIN" in environ or environ.get("REQUEST_METHOD") == "OPTIONS":
            return _refuse(environ, start_response, "AccessDenied",
                           "the embedded AWS answers no browser requests (no CORS)")
        body = _body(environ)
        try:
            signed = verify(environ, body, self.credentials.access_key_id, self.credentials.secret_access_key,
                            now=self._clock())
        except AuthFailure as failure:
            return _refuse(environ, start_response, failure.code, failure.message, failure.service)
        environ[SERVICE_KEY] = signed.service

        def no_cors(status: str, headers: list, exc_info=None):
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return self.app(environ, no_cors)


def _hostname(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _body(environ: dict) -> bytes:
    """Read the body once (the signature may cover it) and put it back for the app."""
    stream = get_input_stream(environ)
    body = stream.read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


def _refuse(environ: dict, start_response: Callable, code: str, message: str,
            service: str | None = None) -> Iterable[bytes]:
    """403 in the caller's protocol: S3's XML error, or the JSON one of the other services."""
    s3 = service == "s3" or (service is None and _looks_like_s3(environ))
    if s3:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
                f"<Message>{escape(message)}</Message></Error>").encode()
        headers = [("Content-Type", "application/xml")]
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    start_response("403 Forbidden", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _looks_like_s3(environ: dict) -> bool:
    """Before a signature is parsed: S3 is the service with no X-Amz-Target and S3's scope."""
    if "HTTP_X_AMZ_TARGET" in environ:
        return False
    scope = (environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")).lower()
    return "/s3/aws4_request" in scope or "%2fs3%2faws4_request" in scope or not scope
