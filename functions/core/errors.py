"""The platform's one error model.

Every error raised on purpose is a `DomainError`. Errors carry a stable `code` (the class
name, which is also what Step Functions' Retry/Catch match on, since a Python Lambda's
`errorType` is the exception's class name) and a message that is safe to show a caller.
They carry no HTTP status: the edge (`functions.adapters.http`) maps the *families* below
to statuses in one table. Never put a secret, a key hash or an internal detail in a message.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every deliberate error. `code` is the class name unless a subclass says otherwise."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        #: extra, caller-safe facts (e.g. `fields` of an InvalidInput) for the error body.
        self.details = details

    @property
    def code(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return self.message


# --- families (the edge maps these to statuses) -------------------------------------------


class InvalidInput(DomainError):
    """The request is malformed. `fields` lists `{"path", "message"}` for each bad field."""

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, fields=fields or [])
        self.fields = fields or []


class Unauthenticated(DomainError):
    """No credentials, or credentials that are unknown, malformed, expired or revoked."""


class Forbidden(DomainError):
    """The caller is known but may not do this (role or model pattern)."""


class NotFound(DomainError):
    """Something named in the request does not exist."""


class Conflict(DomainError):
    """The request contradicts the current state."""


class PayloadTooLarge(DomainError):
    """The request body exceeds the limit."""


class UnsupportedMediaType(DomainError):
    """The request body is not JSON."""


class PreconditionFailed(DomainError):
    """A precondition of the request (`If-Match`: the revision it was based on) no longer holds."""


class PreconditionRequired(DomainError):
    """The request must say which revision it is based on (`If-Match`), so it cannot undo a change unseen."""


# --- the specific errors ------------------------------------------------------------------


class FourEyesViolation(Forbidden):
    """The approver of a version is its publisher."""


class PolicyLooseningForbidden(Forbidden):
    """The change loosens a model's policy and the caller may not loosen it (`policy_rules`)."""


class ModelNotFound(NotFound):
    pass


class VersionNotFound(NotFound):
    pass


class AliasNotFound(NotFound):
    pass


class KeyNotFound(NotFound):
    pass


class NotDeployed(NotFound):
    """The model/version exists but no endpoint serves it."""


class BootstrapRefused(Conflict):
    """The installation already has API keys (or its first admin key); admins create more through the API."""


class ModelExists(Conflict):
    pass


class VersionConflict(Conflict):
    """The version already exists; published versions are never overwritten."""


class InvalidTransition(Conflict):
    """The requested status change is not allowed from the current status."""


class ApprovalRequired(Conflict):
    """The policy requires an approved version here."""


class CodeNotAllowed(Conflict):
    """The version (or deployment, or training spec) runs code of its own and the model's
    policy does not allow code (`policy.allow_code`)."""


class ModelCardIncomplete(Conflict):
    """Submission needs every model card field."""


class ArtifactNotVerified(Conflict):
    """The uploaded artifact is missing or does not match the published SHA-256/size."""


class VersionNotServable(Conflict):
    """Rejected and archived versions cannot back an alias."""


class ConcurrentModification(Conflict):
    """Another change to the same chain won; the operation may be retried."""


class IdempotencyConflict(Conflict):
    """An Idempotency-Key was reused for a different request, or its first use is still running."""


# --- deployments and retraining (issue 4; ASL Catch matches these names) -----------------


class InstanceTypeNotAllowed(InvalidInput):
    """The stage does not allow this SageMaker instance type."""


class ImageNotAvailable(InvalidInput):
    """No container image is configured for what the deployment asks (framework image, GPU)."""


class DeploymentNotFound(NotFound):
    pass


class RetrainNotFound(NotFound):
    pass


class EndpointNotOwned(Conflict):
    """The endpoint name is recorded as another model alias's; it is never taken over."""


class EndpointBusy(Conflict):
    """The endpoint is being created, updated or deleted by another operation."""


class WorkflowFailure(DomainError):
    """A workflow step found that the work itself failed (never an API answer)."""


class EndpointFailed(WorkflowFailure):
    """SageMaker could not bring the endpoint (or its new configuration) into service."""


class EndpointRolledBack(WorkflowFailure):
    """A blue/green update was rolled back: the previous configuration keeps serving."""


class EndpointTimedOut(WorkflowFailure):
    """The endpoint did not settle within the deployment's polling budget."""


class TrainingFailed(WorkflowFailure):
    """The training job failed or was stopped."""


class TrainingTimedOut(WorkflowFailure):
    """The training job did not finish within the retrain's polling budget (it is stopped)."""


class MetricsMissing(WorkflowFailure):
    """The training output has no metrics.json, or not the policy's metric."""


# --- lock-out safety and one change at a time (issue 11) ---------------------------------


class LastAdminKey(Conflict):
    """The change would leave no active admin key that never expires (nobody could manage keys)."""


class DeploymentInProgress(Conflict):
    """Another deployment to the same alias has not finished; its id is in the message."""


class RetrainInProgress(Conflict):
    """Another retrain of the same model has not finished; its id is in the message."""


# --- model lifecycle (issue 12) -----------------------------------------------------------


class ModelRetired(Conflict):
    """The model is retired: it stays in the inventory, read-only."""


class ModelInUse(Conflict):
    """The model still serves (a deployed alias) or changes (a running deployment or retrain)."""


class ChangeNotFound(NotFound):
    pass


class ChangeNotPending(Conflict):
    """The pending change was already applied, rejected, or has expired."""


class ChangeStale(Conflict):
    """The model changed after the pending change was requested; request it again."""


# --- monitoring (issue 13) ------------------------------------------------------------------


class MonitoringRunNotFound(NotFound):
    pass


class MonitoringDisabled(Conflict):
    """The model's policy turns monitoring off (`policy.monitoring.enabled`)."""


class MonitoringInProgress(Conflict):
    """A drift run of the same alias has not finished; its id is in the message."""


class BaselineMissing(Conflict):
    """The served version has no baseline profile to compare traffic with."""


class UnknownInferenceId(InvalidInput):
    """Labels name inference ids that are not captured requests of the model (`fields` say which)."""


class GroundTruthDisabled(Conflict):
    """The model's policy does not collect ground truth (`monitoring.ground_truth` is false)."""


class LabelConflict(Conflict):
    """A captured request already has a different label."""


class DriftJobFailed(WorkflowFailure):
    """The drift job (a processing job) failed or was stopped; the cause says why."""


class DriftJobTimedOut(WorkflowFailure):
    pass
