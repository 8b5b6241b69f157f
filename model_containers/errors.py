"""One error model for the model containers.

Errors carry a stable ``code`` and a message that is safe to show a caller: it names what
was wrong (a field, a column, a limit) and never repeats the payload. They carry no HTTP
status; the edge (``model_containers.serving.app``) maps them to statuses in one table.
"""

from __future__ import annotations


class ContainerError(Exception):
    """Base of every error the containers raise on purpose."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ContainerError):
    """The request body does not match the model's signature or its declared format."""

    code = "invalid_input"


class UnsupportedMediaType(ContainerError):
    """The request's content type is not one the server reads."""

    code = "unsupported_media_type"


class NotAcceptable(ContainerError):
    """The caller asked (Accept) for a response type the server cannot write."""

    code = "not_acceptable"


class PayloadTooLarge(ContainerError):
    """The request body is over ``MODELPORT_MAX_BODY_BYTES``."""

    code = "payload_too_large"


class ModelNotFound(ContainerError):
    """An OIP route named a model (or version) this server does not serve."""

    code = "model_not_found"


class RouteNotFound(ContainerError):
    code = "not_found"


class MethodNotAllowed(ContainerError):
    code = "method_not_allowed"


class ModelNotReady(ContainerError):
    """The model is still loading, or failed to load (integrity, policy)."""

    code = "model_not_ready"


class ArtifactError(ContainerError):
    """The artifact directory or its ``modelport.json`` is unusable."""

    code = "invalid_artifact"


class IntegrityError(ArtifactError):
    """A file's SHA-256 differs from the one recorded in ``modelport.json``."""

    code = "integrity_failure"


class UnsafeModel(ArtifactError):
    """The model would need code execution on load (pickle, untrusted types) that policy forbids."""

    code = "unsafe_model"


class PredictionFailed(ContainerError):
    """The runtime raised while predicting; the message is generic on purpose."""

    code = "prediction_failed"


class TrainingError(ContainerError):
    """Training could not run: a missing channel, a bad hyperparameter, unusable data."""

    code = "training_failed"
