"""The Modelport Python SDK: `Client` and its one error hierarchy (`ModelportError`)."""

from modelport.client.client import Client
from modelport.client.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    ModelInvocationError,
    ModelportError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnsupportedMediaTypeError,
    UploadError,
)

__all__ = [
    "AuthenticationError", "Client", "ConfigurationError", "ConflictError", "InvalidInputError",
    "ModelInvocationError", "ModelportError", "NotFoundError", "PayloadTooLargeError",
    "PermissionDeniedError", "PreconditionFailedError", "RateLimitedError", "ServerError", "TransportError",
    "UnsupportedMediaTypeError", "UploadError",
]  # fmt: skip
