"""The tamper-evident audit log: events, their hash chain, and verification.

Each chain (one per model, plus `platform` for keys) is a sequence 1, 2, 3, ... of events.
An event's `digest` is the SHA-256 of its details (canonical JSON); its `hash` is the SHA-256
of every other field, `prev_hash` included, so editing, removing or reordering any event
breaks the chain from that event on. The chain's head (last sequence and hash) is stored
with the model (or platform) item and is advanced in the same transaction as the change,
conditioned on the head that was read: a chain can neither fork nor lose its tail unseen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.core.records import ItemKey

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class AuditEvent(BaseModel):
    """One link of a chain."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    chain: str
    seq: int
    actor: str
    action: str
    target: str
    request_id: str
    #: a datetime; a damaged stored value stays a string (and then fails verification)
    time: datetime | str
    #: canonical JSON of what changed (never secrets).
    details: str
    digest: str
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return chain_hash(self.model_dump(exclude={"hash", "details"}))


def chain_hash(fields: dict[str, Any]) -> str:
    fields = dict(fields)
    fields["time"] = _iso(fields["time"])
    return sha256_hex(canonical_json(fields))


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


@dataclass(frozen=True)
class ChainHead:
    """Where a chain stands: `seq` 0 and the genesis hash for a chain without events."""

    chain: str
    key: ItemKey
    seq: int = 0
    hash: str = GENESIS


def next_event(
    head: ChainHead,
    *,
    actor: str,
    action: str,
    target: str,
    request_id: str,
    time: datetime,
    details: dict[str, Any],
) -> AuditEvent:
    """The event that follows `head`, with its digest and hash computed."""
    body = canonical_json(details)
    fields = {
        "chain": head.chain,
        "seq": head.seq + 1,
        "actor": actor,
        "action": action,
        "target": target,
        "request_id": request_id,
        "time": time,
        "digest": sha256_hex(body),
        "prev_hash": head.hash,
    }
    return AuditEvent(**fields, details=body, hash=chain_hash(fields))


class VerifyResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    chain: str
    ok: bool
    events: int
    #: sequence number of the first event that fails (or that is missing).
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(chain: str, events: Iterable[AuditEvent], head: ChainHead) -> VerifyResult:
    """Check `events` (in stored order) against each other and against the chain's head."""
    prev = GENESIS
    count = 0
    for position, event in enumerate(events, start=1):
        count = position
        if event.seq != position:
            what = "missing" if event.seq > position else "out of order"
            return _bad(chain, count, position, f"event {position} is {what} (found event {event.seq})")
        if event.prev_hash != prev:
            return _bad(chain, count, position, f"event {position} does not link to event {position - 1}")
        if sha256_hex(event.details) != event.digest:
            return _bad(chain, count, position, f"event {position} details do not match its digest")
        if event.expected_hash() != event.hash:
            return _bad(chain, count, position, f"event {position} does not match its hash")
        prev = event.hash
    if count < head.seq:
        missing = count + 1
        return _bad(
            chain, count, missing,
            f"event {missing} is missing: the head is at event {head.seq} but the log ends at {count}",
        )  # fmt: skip
    if count > head.seq:
        extra = head.seq + 1
        return _bad(chain, count, extra, f"event {extra} is not covered by the chain head ({head.seq})")
    if prev != head.hash:
        return _bad(chain, count, count, f"event {count} does not match the chain head")
    return VerifyResult(chain=chain, ok=True, events=count)


def _bad(chain: str, count: int, seq: int, reason: str) -> VerifyResult:
    return VerifyResult(chain=chain, ok=False, events=count, first_bad_seq=seq, reason=reason)
