"""One change at a time: at most one deployment per alias and one retrain per model.

The running change holds an `ActiveChange` item (`ACTIVE#<scope>` under `MODEL#<name>`).
The transaction that creates a deployment or retrain also puts that item, on condition
that it does not exist, and the transaction that finishes the change deletes it. Both
transactions are conditioned on the model's chain head as well, so of two racing
requests one commits and the other, re-reading, finds the holder and is refused at once
with a conflict that names it: nothing of the second is written, and the first never
fails late because the second got in its way (the endpoint busy with another update).

An item left behind by a holder that finished without releasing it (written by code
from before this rule, or a record repaired by hand) is stale: the holder's own record
says it finished, and the next claim takes the item over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from functions.core.errors import DomainError
from functions.core.mutations import Delete, Put
from functions.core.ports import Deps
from functions.core.records import ItemKey, Record, model_pk

ACTIVE_PREFIX = "ACTIVE#"


class ActiveChange(Record):
    """Which change of one kind is running for a model (its id), since when."""

    KIND: ClassVar[str] = "active"

    model: str
    #: `deploy:<alias>` or `retrain`
    scope: str
    holder: str
    since: datetime

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.scope)

    @staticmethod
    def key_for(model: str, scope: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{ACTIVE_PREFIX}{scope}")


def deploy_scope(alias: str) -> str:
    return f"deploy:{alias}"


RETRAIN_SCOPE = "retrain"


def claim(
    deps: Deps,
    model: str,
    scope: str,
    holder: str,
    *,
    running: Callable[[str], object | None],
    refused: Callable[[object], DomainError],
    raced: DomainError,
) -> Put:
    """The write that makes `holder` the running change of `scope`, for the creating transaction.

    `running(id)` returns the record of a holder that has not finished (None once it has,
    or when it does not exist); `refused(record)` is the error naming it. Call this after
    reading the model's head, so the commit is ordered against every other claim. `raced`
    is raised when a claim committed between this read and the commit (the retry then
    finds and names that holder).
    """
    current = deps.store.get(ActiveChange.key_for(model, scope), ActiveChange, consistent=True)
    if current is not None and current.holder != holder:
        record = running(current.holder)
        if record is not None:
            raise refused(record)
    item = ActiveChange(model=model, scope=scope, holder=holder, since=deps.clock())
    # A stale item (its holder finished) is overwritten; the head condition still orders it.
    return Put(item, if_absent=raced if current is None else None)


def release(deps: Deps, model: str, scope: str, holder: str) -> list[Put | Delete]:
    """The write that frees `scope` when `holder` finishes (nothing when another holds it)."""
    current = deps.store.get(ActiveChange.key_for(model, scope), ActiveChange, consistent=True)
    if current is None or current.holder != holder:
        return []
    return [Delete(current.key)]


def holder_of(deps: Deps, model: str, scope: str) -> str | None:
    """The id of the change that holds `scope` now (a cheap pre-check; `claim` decides)."""
    current = deps.store.get(ActiveChange.key_for(model, scope), ActiveChange, consistent=True)
    return current.holder if current is not None else None
