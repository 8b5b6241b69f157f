"""Ports: what the core needs from the outside world, and the bundle the use cases take.

Adapters implement these protocols (`functions.adapters` with boto3, or in-memory ones in
tests). Clock, ids, secrets, sleep and jitter are injected too so tests are deterministic.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from functions.core.audit import AuditEvent, ChainHead
from functions.core.models import Principal
from functions.core.records import ItemKey, Page, Record

if TYPE_CHECKING:
    from functions.core.mutations import UnitOfWork

R = TypeVar("R", bound=Record)


class MetadataStore(Protocol):
    """The single metadata table. Every method is one request, except `commit` on retry-free paths."""

    def get(self, key: ItemKey, cls: type[R], *, consistent: bool = False) -> R | None:
        """One GetItem; None when absent."""

    def read_head(self, chain: str, key: ItemKey, cls: type[R]) -> tuple[R | None, ChainHead]:
        """One consistent GetItem of a chain's head item: its record (None if absent) and head."""

    def query(
        self,
        pk: str,
        cls: type[R],
        *,
        prefix: str = "",
        limit: int = 50,
        newest_first: bool = False,
        cursor: str | None = None,
        consistent: bool = False,
        at_most: str | None = None,
    ) -> Page[R]:
        """One Query of partition `pk` for sort keys starting with `prefix` (and, with
        `at_most`, not above it: `BETWEEN prefix AND at_most`)."""

    def list_index(
        self, index_pk: str, cls: type[R], *, limit: int = 50, cursor: str | None = None, prefix: str = ""
    ) -> Page[R]:
        """One Query of the sparse listing index (models, keys), in sort-key order (those
        whose index sort key starts with `prefix`)."""

    def touch(self, key: ItemKey, field: str, value: datetime, *, unless_after: datetime) -> bool:
        """One conditional write of a sampled field (`Record.SAMPLED`, e.g. a key's
        `last_used_at`), outside any chain: set unless the item is gone or its sample is
        newer than `unless_after`. False when nothing was written."""

    def commit(self, uow: UnitOfWork) -> None:
        """One TransactWriteItems: the writes, the audit event, and the head advance.

        Raises the `if_absent` error of a write whose item exists, or ConcurrentModification
        when the head moved since it was read.
        """


class AuditLog(Protocol):
    """The append-only audit table (read side; events are written by `MetadataStore.commit`)."""

    def events(
        self, chain: str, *, limit: int = 50, cursor: str | None = None, newest_first: bool = True
    ) -> Page[AuditEvent]: ...

    def all_events(self, chain: str) -> Iterator[AuditEvent]:
        """Every event of a chain in sequence order (paged underneath)."""


class Upload(BaseModel):
    """A presigned upload: send exactly these headers with a PUT of the artifact."""

    model_config = ConfigDict(defer_build=True)

    url: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_at: datetime


class StoredObject(BaseModel):
    """What the object store reports about an uploaded artifact."""

    model_config = ConfigDict(defer_build=True)

    sha256: str | None
    size: int


class ArtifactStore(Protocol):
    def locate(self, model: str, version: str) -> str:
        """URI of a version's `model.tar.gz`."""

    def upload_url(self, uri: str, sha256: str, size: int) -> Upload:
        """A presigned PUT that the store accepts only with this SHA-256 (and size)."""

    def stat(self, uri: str) -> StoredObject | None:
        """The stored object's SHA-256 checksum and size, or None when it does not exist."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Best-effort platform event (EventBridge, source `modelport`)."""


class NoEvents:
    """An EventPublisher that drops events (no bus configured)."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        return None


class AuthorizerCache(Protocol):
    def flush(self) -> None:
        """Forget cached authorizer answers (after a key is revoked or an alias moves)."""


class NoCache:
    """An AuthorizerCache for setups without one (tests, local mode without a gateway)."""

    def flush(self) -> None:
        return None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """Everything a use case needs. Build one per process (composition root)."""

    store: MetadataStore
    audit: AuditLog
    artifacts: ArtifactStore
    events: EventPublisher = field(default_factory=NoEvents)
    authorizer_cache: AuthorizerCache = field(default_factory=NoCache)
    clock: Callable[[], datetime] = utcnow
    new_id: Callable[[], str] = lambda: secrets.token_hex(8)
    #: ≥ 256 bits of randomness for API key secrets.
    new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(32)
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    #: attempts of a mutation whose chain head moved under it (optimistic concurrency).
    retry_attempts: int = 8


@dataclass(frozen=True)
class Context:
    """Who asks, and the request id recorded in the audit event."""

    actor: Principal
    request_id: str
