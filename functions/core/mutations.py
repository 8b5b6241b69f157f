"""The unit of work: how every change is written together with its audit event.

A use case reads the chain head (`store.read_head`), decides, and returns a `UnitOfWork`:
the records to put or delete plus the next audit event of that chain. The store writes
all of it in one transaction conditioned on the head it read, so two concurrent changes
of one chain cannot both succeed; the loser raises ConcurrentModification and
`with_retry` runs the whole read-decide-write again after a jittered backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from functions.core.audit import AuditEvent, ChainHead, next_event
from functions.core.errors import ConcurrentModification, DomainError
from functions.core.models import Model
from functions.core.ports import Context, Deps
from functions.core.records import ItemKey, Record

T = TypeVar("T")
R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Put:
    """Write a whole record. Without `if_absent` it overwrites, which is safe because every
    write of a chain is serialised by that chain's head condition."""

    record: Record
    #: raised (as is) when an item with this key already exists.
    if_absent: DomainError | None = None


@dataclass(frozen=True)
class Delete:
    key: ItemKey


@dataclass(frozen=True)
class UnitOfWork:
    head: ChainHead
    event: AuditEvent
    writes: list[Put | Delete] = field(default_factory=list)


def change(
    deps: Deps,
    ctx: Context,
    head: ChainHead,
    *,
    action: str,
    target: str,
    details: dict[str, Any],
    writes: list[Put | Delete],
) -> UnitOfWork:
    """Build the unit of work for one change: `writes` plus the next event of `head`'s chain.

    `action` is `<noun>.<verb>` (e.g. `version.publish`); `details` must not hold secrets.
    """
    event = next_event(
        head,
        actor=ctx.actor.label,
        action=action,
        target=target,
        request_id=ctx.request_id,
        time=deps.clock(),
        details=details,
    )
    return UnitOfWork(head=head, event=event, writes=writes)


def with_retry(deps: Deps, attempt: Callable[[], T]) -> T:
    """Run `attempt` (read, decide, commit) until it does not lose a race, or give up.

    Backoff is exponential with full jitter, capped at one second per wait.
    """
    for n in range(deps.retry_attempts):
        try:
            return attempt()
        except ConcurrentModification:
            if n == deps.retry_attempts - 1:
                raise
            deps.sleep(min(1.0, 0.01 * 2**n) * deps.jitter())
    raise ConcurrentModification("gave up")  # pragma: no cover - loop always returns or raises


def commit(deps: Deps, build: Callable[[], tuple[UnitOfWork, T]]) -> T:
    """Build a unit of work from fresh reads and commit it, retrying lost races."""

    def attempt() -> T:
        uow, result = build()
        deps.store.commit(uow)
        return result

    return with_retry(deps, attempt)


def update_model_record(
    deps: Deps,
    ctx: Context,
    name: str,
    key: ItemKey,
    cls: type[R],
    *,
    action: str,
    target: str,
    mutate: Callable[[R], tuple[R | None, dict[str, Any]]],
    missing: Callable[[], DomainError],
    also: Callable[[R, R], list[Put | Delete]] | None = None,
) -> tuple[R, bool]:
    """Change one record under model `name` on that model's chain: read the head and the
    record, apply `mutate` (→ the new record and the audit details, or None for no change),
    commit them with the audit event, retrying lost races. `also(current, updated)` adds
    writes to the same transaction (e.g. releasing an `ActiveChange`). Returns (record, changed)."""
    def attempt() -> tuple[R, bool]:
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        current = deps.store.get(key, cls, consistent=True)
        if model is None or current is None:
            raise missing()
        updated, details = mutate(current)
        if updated is None:
            return current, False
        extra = also(current, updated) if also is not None else []
        deps.store.commit(change(deps, ctx, head, action=action, target=target, details=details,
                                 writes=[Put(updated), *extra]))
        return updated, True

    return with_retry(deps, attempt)
