"""The SDK's one error hierarchy: every failure a `Client` call can raise is a `ModelportError`.

API errors carry the platform's `{"error": {"code", "message"}}` (`code` is the core error
class name, e.g. `FourEyesViolation`), the HTTP status and, for invalid input, the bad
`fields`. The class follows the status so callers can catch families
(`except NotFoundError`) or look at `code` for the exact reason.
"""

from __future__ import annotations

from typing import Any


class ModelportError(Exception):
    """Base of every SDK error."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: list[dict[str, str]] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__
        self.status = status
        self.fields = fields or []
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"


class ConfigurationError(ModelportError):
    """No API URL or key configured, or a local file the command needs is unusable."""


class TransportError(ModelportError):
    """The API could not be reached (connection refused, timeout, TLS, ...)."""


class InvalidInputError(ModelportError):
    """400: the request is malformed; `fields` names each bad field."""


class AuthenticationError(ModelportError):
    """401: no key, or a key that is unknown, expired or revoked."""


class PermissionDeniedError(ModelportError):
    """403: a role, a model pattern or the four-eyes rule forbids this."""


class NotFoundError(ModelportError):
    """404: the model, version, alias, key or route does not exist."""


class ConflictError(ModelportError):
    """409: the request contradicts the current state (exists, bad transition, ...)."""


class PreconditionFailedError(ModelportError):
    """412 (the revision a change was based on is stale) or 428 (no revision was sent)."""


class PayloadTooLargeError(ModelportError):
    """413."""


class UnsupportedMediaTypeError(ModelportError):
    """415."""


class ModelInvocationError(ModelportError):
    """424: the model container answered an inference request with an error."""


class RateLimitedError(ModelportError):
    """429, after the client's retries ran out."""


class ServerError(ModelportError):
    """5xx, after the client's retries ran out."""


class UploadError(ModelportError):
    """The presigned upload of an artifact or dataset was refused by the object store."""


_BY_STATUS: dict[int, type[ModelportError]] = {
    400: InvalidInputError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    428: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    424: ModelInvocationError,
    429: RateLimitedError,
}


def error_class(status: int) -> type[ModelportError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ModelportError


def from_response(status: int, body: Any, request_id: str | None = None) -> ModelportError:
    """The error for a non-2xx answer: the platform's error body, or SageMaker's on inference."""
    code, message, fields = f"HTTP{status}", f"the API answered HTTP {status}", None
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            code = str(inner.get("code") or code)
            message = str(inner.get("message") or message)
            raw_fields = inner.get("fields")
            fields = raw_fields if isinstance(raw_fields, list) else None
        else:
            # SageMaker runtime errors passed through on inference routes.
            code = str(body.get("ErrorCode") or body.get("__type") or body.get("code") or code)
            message = str(body.get("OriginalMessage") or body.get("Message") or body.get("message") or message)
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    return error_class(status)(message, code=code, status=status, fields=fields, request_id=request_id)
