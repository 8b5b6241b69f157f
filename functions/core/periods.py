"""Alias periods: the records of production history (DESIGN.md §10; reads in `history`).

A period is one item `HIST#<alias>#<start>#<seq>` under `MODEL#<name>`: the version, its
endpoint, who moved the alias there, the deployment that did it, and (once the alias
moved on) its end. The alias item carries a copy of its open period, so an alias move
closes the old period and opens the new one in the move's own transaction, with its
audit event, without reading anything more.

The sort key starts with the period's start time (UTC, fixed width), so "what served at
time T" is ONE Query: the newest period of the alias whose key is at most
`HIST#<alias>#<T>#~` (`ScanIndexForward=False`, `Limit=1`); that period served at T unless
it ended at or before T. The audit sequence number makes keys unique even when two moves
share a timestamp, and a period never starts before the one it closes (a clock that went
back cannot make periods overlap).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from functions.core.records import ItemKey, Record, model_pk

HISTORY_PREFIX = "HIST#"
#: sorts after every digit, so `HIST#<alias>#<T>#~` bounds all periods starting at T.
AFTER_SEQ = "~"


def time_key(moment: datetime) -> str:
    """Fixed-width UTC time: string order is time order."""
    if moment.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    # isoformat pads the year to four digits (strftime's %Y does not, for years < 1000)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def alias_prefix(alias: str) -> str:
    return f"{HISTORY_PREFIX}{alias}#"


class AliasPeriod(Record):
    """One period of an alias: [start, end), `end` None while it lasts."""

    KIND: ClassVar[str] = "alias_period"

    model: str
    alias: str
    version: str
    #: the endpoint serving the alias in this period; None: the alias pointed here, nothing served it.
    endpoint: str | None = None
    start: datetime
    end: datetime | None = None
    #: who moved the alias here (the key's label, or `system:deploy` for the deploy workflow).
    moved_by: str
    #: the deployment whose workflow moved the alias (None for a move through the aliases API).
    deployment_id: str | None = None
    #: the audit events (on the model's chain) that opened and closed the period.
    opened_seq: int
    closed_seq: int | None = None
    closed_by: str | None = None

    @property
    def key(self) -> ItemKey:
        return ItemKey(model_pk(self.model), f"{alias_prefix(self.alias)}{time_key(self.start)}#{self.opened_seq:012d}")

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def starts_new_period(current: AliasPeriod | None, version: str, endpoint: str | None, deployment_id: str | None) -> bool:
    """A move opens a period when what the alias points at, or serves it, changes.

    Setting an alias to what it already is (same version, same endpoint, no new
    deployment) continues the period.
    """
    if current is None:
        return True
    if current.version != version or current.endpoint != endpoint:
        return True
    return deployment_id is not None and deployment_id != current.deployment_id


def move(
    current: AliasPeriod | None,
    *,
    model: str,
    alias: str,
    version: str,
    endpoint: str | None,
    deployment_id: str | None,
    moved_by: str,
    now: datetime,
    seq: int,
) -> tuple[AliasPeriod, list[AliasPeriod]]:
    """The period open after a move and the period records to write (closed and opened).

    `seq` is the audit event of the move. Returns `(current, [])` when the move continues
    the current period.
    """
    if current is not None and not starts_new_period(current, version, endpoint, deployment_id):
        return current, []
    start = now if current is None else max(now, current.start)
    opened = AliasPeriod(model=model, alias=alias, version=version, endpoint=endpoint, start=start,
                         moved_by=moved_by, deployment_id=deployment_id, opened_seq=seq)
    if current is None:
        return opened, [opened]
    closed = current.model_copy(update={"end": start, "closed_seq": seq, "closed_by": moved_by})
    return opened, [closed, opened]
