"""The API's response shapes, as the SDK returns them.

Records and commands come from `functions.core` (pydantic only, no boto3): the SDK speaks
the same types the handlers return, so a field added there reaches users without a copy
here. Only the envelopes the handlers build around them (a page, a published version with
its upload, a created key with its token, a verify report) are declared here.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from functions.core.access import Permission
from functions.core.apikeys import Identity
from functions.core.audit import AuditEvent, VerifyResult
from functions.core.lifecycle import ModelChange
from functions.core.models import (
    Alias,
    ApiKeyInfo,
    Model,
    ModelCard,
    ModelPolicy,
    ModelVersion,
    NewKey,
    NewModel,
    NewVersion,
    Role,
    Signature,
    TrainingSpec,
    VersionStatus,
)
from functions.core.periods import AliasPeriod
from functions.core.ports import Upload
from functions.core.revalidation import ModelView

T = TypeVar("T")

__all__ = [
    "Alias",
    "AliasPeriod",
    "ApiKeyInfo",
    "AuditEvent",
    "AuditReport",
    "CreatedKey",
    "Identity",
    "Invocation",
    "Model",
    "ModelCard",
    "ModelChange",
    "ModelPolicy",
    "ModelVersion",
    "ModelView",
    "NewKey",
    "NewModel",
    "NewVersion",
    "Page",
    "Permission",
    "PublishedVersion",
    "Role",
    "Signature",
    "TrainingSpec",
    "Upload",
    "VerifyResult",
    "VersionStatus",
]  # fmt: skip


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(_Envelope, Generic[T]):
    """One page of a listing; pass `cursor` back for the next (None on the last page)."""

    items: list[T]
    cursor: str | None = None


class PublishedVersion(_Envelope):
    version: ModelVersion
    #: PUT the artifact here with exactly these headers (None on an idempotent replay).
    upload: Upload | None = None


class CreatedKey(_Envelope):
    key: ApiKeyInfo
    #: the bearer token, shown once (None when an Idempotency-Key replayed the creation).
    token: str | None = Field(default=None, repr=False)


class RotatedKey(_Envelope):
    key: ApiKeyInfo
    #: the successor's bearer token, shown once (None when an Idempotency-Key replayed it).
    token: str | None = Field(default=None, repr=False)
    #: the old key, expiring at the end of the grace period.
    previous: ApiKeyInfo


class AuditReport(_Envelope):
    ok: bool
    chains: list[VerifyResult]


class Invocation(_Envelope):
    """A model's answer: the raw body, its content type, which variant served it, and its
    inference id (post labels for it later: `client.monitoring.feedback`)."""

    body: bytes
    content_type: str
    variant: str | None = None
    status: int = 200
    inference_id: str | None = None

    def data(self):
        """The body decoded as JSON."""
        import json

        return json.loads(self.body)
