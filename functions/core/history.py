"""Use cases: production history, "what served at time T" (records and keys: `periods`)."""

from __future__ import annotations

from datetime import datetime

from functions.core import access
from functions.core.errors import AliasNotFound, InvalidInput
from functions.core.models import Alias
from functions.core.periods import AFTER_SEQ, HISTORY_PREFIX, AliasPeriod, alias_prefix, time_key
from functions.core.ports import Context, Deps
from functions.core.records import Page, model_pk
from functions.core.registry import require_model
from functions.core.semver import validate_alias

# --- reads ----------------------------------------------------------------------------------


def list_history(
    deps: Deps, ctx: Context, name: str, alias: str, *, limit: int = 50, cursor: str | None = None
) -> Page[AliasPeriod]:
    """An alias's periods, newest first: one Query per page (a second read only to tell an
    unknown model or alias from one without history)."""
    access.require(ctx.actor, access.READ, name)
    validate_alias(alias)
    page = deps.store.query(model_pk(name), AliasPeriod, prefix=alias_prefix(alias), limit=limit,
                            newest_first=True, cursor=cursor)
    if not page.items and cursor is None:
        _explain_empty(deps, name, alias)
    return page


def served_at(deps: Deps, ctx: Context, name: str, alias: str, at: datetime) -> AliasPeriod | None:
    """The period of `alias` that covered time `at`, in one Query; None when the alias
    pointed at nothing then (before its first move)."""
    access.require(ctx.actor, access.READ, name)
    validate_alias(alias)
    if at.tzinfo is None:
        raise InvalidInput("give the time with its UTC offset (RFC 3339), e.g. 2025-01-31T12:00:00Z",
                           [{"path": "query.at", "message": "time zone missing"}])
    page = deps.store.query(model_pk(name), AliasPeriod, prefix=alias_prefix(alias), limit=1, newest_first=True,
                            at_most=f"{alias_prefix(alias)}{time_key(at)}#{AFTER_SEQ}")
    if not page.items:
        _explain_empty(deps, name, alias)
        return None
    found = page.items[0]
    return found if found.covers(at) else None


def _explain_empty(deps: Deps, name: str, alias: str) -> None:
    """Raise for an unknown model or alias; return for an alias without (earlier) history."""
    if deps.store.get(Alias.key_for(name, alias), Alias) is None:
        require_model(deps, name)
        raise AliasNotFound(f"model {name!r} has no alias {alias!r}")


def all_periods(deps: Deps, name: str) -> list[AliasPeriod]:
    """Every period of every alias of a model, oldest first (evidence packs)."""
    periods: list[AliasPeriod] = []
    cursor = None
    while True:
        page = deps.store.query(model_pk(name), AliasPeriod, prefix=HISTORY_PREFIX, limit=100,
                                cursor=cursor, consistent=True)
        periods.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            return sorted(periods, key=lambda p: (p.start, p.opened_seq))
