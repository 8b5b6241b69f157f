"""HTTP under the SDK: auth header, JSON, retries with backoff, one error model.

Retries: 429 and 5xx answers and unreachable servers are retried with exponential backoff
and full jitter (honouring `Retry-After`), but a POST that may have run on the server is
retried only when it carries an `Idempotency-Key` (the server then answers the first
result again) or when the answer says nothing ran (429, 503). The key is sent only as the
`Authorization` header to the API's own origin and appears in no repr, log or error.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from modelport.client.errors import ModelportError, TransportError, from_response

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: statuses that say the request was not processed, so even a plain POST may be resent.
NOT_PROCESSED = frozenset({429, 503})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class Transport:
    """One httpx client bound to the API's base URL and key."""

    def __init__(
        self,
        url: str,
        api_key: SecretStr | str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        http_transport: httpx.BaseTransport | None = None,
        user_agent: str = "modelport-sdk",
    ) -> None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.base_url = url.rstrip("/")
        self.max_retries = max_retries
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=http_transport,
            headers={"Authorization": f"Bearer {secret}", "User-Agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"Transport(url={self.base_url!r}, api_key=<hidden>)"

    def close(self) -> None:
        self._http.close()

    # -- requests ---------------------------------------------------------------------------
    def json(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send a JSON request; return the decoded JSON answer (None for an empty body)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self.send(method, path, json=body, params=params, headers=headers)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ModelportError(
                f"the API answered {method} {path} with a body that is not JSON",
                code="BadResponse", status=response.status_code,
            ) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise the matching ModelportError."""
        method = method.upper()
        headers = dict(headers or {})
        params = {k: v for k, v in (params or {}).items() if v is not None} or None
        may_resend = method in _IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, json=json, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                # A connect error means nothing was sent; anything later may have run.
                if attempt < self.max_retries and (may_resend or isinstance(exc, httpx.ConnectError)):
                    self._pause(attempt, None)
                    attempt += 1
                    continue
                raise TransportError(
                    f"cannot reach {self.base_url}: {_describe(exc)}", code="Unreachable"
                ) from None
            status = response.status_code
            if status < 400:
                return response
            retry = status in RETRY_STATUSES and (may_resend or status in NOT_PROCESSED)
            if retry and attempt < self.max_retries:
                self._pause(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            raise from_response(status, _body(response), response.headers.get("x-amzn-RequestId"))

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff_s * (2**attempt) * random.random()
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), 30.0))
            except ValueError:
                pass
        self._sleep(delay)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return text
