"""Use cases: read the audit log and verify its hash chains."""

from __future__ import annotations

from functions.core import access
from functions.core.apikeys import require_key_manager
from functions.core.audit import AuditEvent, ChainHead, VerifyResult, verify_chain
from functions.core.errors import ModelNotFound
from functions.core.models import Model, Principal
from functions.core.ports import Context, Deps
from functions.core.records import (
    MODELS_INDEX_PK,
    PLATFORM_CHAIN,
    PLATFORM_HEAD_KEY,
    Page,
    PlatformHead,
)


def _require_chain(actor: Principal, chain: str) -> None:
    if chain == PLATFORM_CHAIN:
        require_key_manager(actor, doing="reading the platform audit chain")
    else:
        access.require(actor, access.READ_AUDIT, chain, doing="reading the audit log")


def list_events(
    deps: Deps, ctx: Context, chain: str, *, limit: int = 50, cursor: str | None = None
) -> Page[AuditEvent]:
    """A chain's events, newest first. `chain` is a model name or `platform`."""
    _require_chain(ctx.actor, chain)
    page = deps.audit.events(chain, limit=limit, cursor=cursor, newest_first=True)
    if not page.items and cursor is None and chain != PLATFORM_CHAIN:
        _read_head(deps, chain)
    return page


def verify(deps: Deps, ctx: Context, chain: str) -> VerifyResult:
    """Verify one chain against its head."""
    _require_chain(ctx.actor, chain)
    return _verify(deps, chain)


def verify_all(deps: Deps, ctx: Context) -> list[VerifyResult]:
    """Verify every chain the caller may read: the platform chain (admins) and each model's."""
    access.require(ctx.actor, access.READ_AUDIT, doing="verifying the audit log")
    results = []
    if ctx.actor.roles & access.MANAGE_KEYS and "*" in ctx.actor.patterns:  # apikeys.require_key_manager
        results.append(_verify(deps, PLATFORM_CHAIN))
    cursor = None
    while True:
        page = deps.store.list_index(MODELS_INDEX_PK, Model, limit=100, cursor=cursor)
        results.extend(_verify(deps, m.name) for m in page.items if ctx.actor.covers(m.name))
        cursor = page.cursor
        if cursor is None:
            return results


def _read_head(deps: Deps, chain: str) -> ChainHead:
    if chain == PLATFORM_CHAIN:
        return deps.store.read_head(chain, PLATFORM_HEAD_KEY, PlatformHead)[1]
    model, head = deps.store.read_head(chain, Model.key_for(chain), Model)
    if model is None:
        raise ModelNotFound(f"model {chain!r} does not exist")
    return head


def _verify(deps: Deps, chain: str) -> VerifyResult:
    head = _read_head(deps, chain)
    events = list(deps.audit.all_events(chain))
    if len(events) > head.seq:
        # A change may have committed after the head was read; look again before blaming it.
        head = _read_head(deps, chain)
    return verify_chain(chain, events, head)
