"""Use case: rotating an API key (`POST /v1/keys/{key_id}/rotate`).

The successor has the same owner, roles, patterns and description, and (when the old key
had an expiry) the same lifetime, counted from now. The old key keeps working for the grace
period the request states, then expires (`expires_at`; never later than it would have),
so its holders can switch over without an outage. Both keys name each other
(`rotated_to`, `rotated_from`); the successor's token is shown once. One transaction on the
platform chain writes both keys and the audit event, after the lock-out rule
(`apikeys.require_lasting_admin`) agreed: rotating the last admin key is fine, since its
successor is an admin key that is active.

Authorizer answers are cached for the stage's TTL: a rotated key that expired may be
accepted from the cache until that TTL passes (a grace period of 0 flushes it at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from functions.core.apikeys import (
    KEY_ID_RE,
    CreatedKey,
    hash_secret,
    require_key_manager,
    require_lasting_admin,
)
from functions.core.errors import Conflict, InvalidTransition, KeyNotFound
from functions.core.models import ApiKey, ApiKeyInfo
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
from functions.core.records import PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead

#: the longest grace period a rotation may give the old key.
MAX_GRACE_HOURS = 720


class Rotation(BaseModel):
    """Command: rotate a key, keeping the old one working for `grace_period_hours`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_period_hours: int = Field(ge=0, le=MAX_GRACE_HOURS,
                                    description="how long the old key keeps working (0: it stops now)")
    description: str | None = Field(default=None, max_length=512, description="default: the old key's")


@dataclass(frozen=True)
class Rotated:
    successor: CreatedKey
    #: the old key, as the rotation left it (expiring at the end of the grace period).
    previous: ApiKeyInfo

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"Rotated(successor={self.successor!r}, previous={self.previous!r})"


def rotate_key(deps: Deps, ctx: Context, key_id: str, rotation: Rotation) -> Rotated:
    require_key_manager(ctx.actor, doing="rotating keys")
    new_id, secret = deps.new_id(), deps.new_secret()
    if not KEY_ID_RE.match(new_id) or len(secret) < 43:
        raise ValueError("id/secret factories must give 16 hex digits and >= 256-bit secrets")

    def build():
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        old = deps.store.get(ApiKey.key_for(key_id), ApiKey, consistent=True) if KEY_ID_RE.match(key_id) else None
        if old is None:
            raise KeyNotFound(f"key {key_id!r} does not exist")
        now = deps.clock()
        state = old.state(now)
        if state != "active":
            raise InvalidTransition(f"key {key_id} is {state}; only an active key is rotated")
        if old.rotated_to is not None:
            raise InvalidTransition(f"key {key_id} was rotated already (its successor is {old.rotated_to})")
        grace_end = now + timedelta(hours=rotation.grace_period_hours)
        lifetime = old.expires_at - old.created_at if old.expires_at is not None else None
        successor = ApiKey(
            key_id=new_id, owner=old.owner, roles=old.roles, patterns=old.patterns,
            description=rotation.description if rotation.description is not None else old.description,
            created_at=now, created_by=ctx.actor.id, expires_at=now + lifetime if lifetime else None,
            rotated_from=old.key_id, secret_hash=hash_secret(new_id, secret),
        )  # fmt: skip
        previous = old.model_copy(update={
            "expires_at": min(grace_end, old.expires_at) if old.expires_at else grace_end, "rotated_to": new_id})
        require_lasting_admin(deps, [previous.info(), successor.info()])
        uow = change(
            deps, ctx, head, action="key.rotate", target=f"key:{key_id}",
            details={"key_id": key_id, "successor": successor.info().model_dump(mode="json"),
                     "grace_period_hours": rotation.grace_period_hours,
                     "expires_at": previous.expires_at.isoformat()},
            writes=[Put(successor, if_absent=Conflict(f"key {new_id} exists; retry")), Put(previous)],
        )  # fmt: skip
        return uow, (successor.info(), previous.info())

    info, previous = commit(deps, build)
    if rotation.grace_period_hours == 0:
        deps.authorizer_cache.flush()  # cached answers for the old key end now
    return Rotated(successor=CreatedKey(info=info, token=f"mp_{new_id}_{secret}"), previous=previous)
