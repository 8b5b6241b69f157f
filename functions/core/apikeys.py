"""Use cases: API keys (create, list, revoke) and authenticating a bearer token.

A token is `mp_<key id>_<secret>`: a 16-hex-digit id and a `secrets.token_urlsafe(32)`
secret (256 random bits). Only SHA-256(`<key id>:<secret>`) is stored. A fast hash is the
right tool here: the secret is uniformly random with 256 bits of entropy, so there is
nothing for a slow, salted password hash to protect against (no dictionary, no feasible
brute force), and the authorizer stays fast. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from functions.core import access
from functions.core.access import Permission
from functions.core.errors import (
    BootstrapRefused,
    Conflict,
    Forbidden,
    InvalidTransition,
    KeyNotFound,
    LastAdminKey,
    Unauthenticated,
)
from functions.core.models import ApiKey, ApiKeyInfo, NewKey, Principal, Role, system_actor
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
from functions.core.principals import owner_prefix
from functions.core.records import (
    KEYS_INDEX_PK,
    PLATFORM_CHAIN,
    PLATFORM_HEAD_KEY,
    ItemKey,
    Page,
    PlatformHead,
    Record,
)

TOKEN_RE = re.compile(r"^mp_([0-9a-f]{16})_([A-Za-z0-9_-]{43,128})$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def hash_secret(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    info: ApiKeyInfo
    #: the whole bearer token; returned once, never stored or logged.
    token: str

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"CreatedKey(info={self.info!r}, token=<hidden>)"


#: the installation's bootstrap record: next to the platform chain's head item
BOOTSTRAP_KEY = ItemKey(PLATFORM_HEAD_KEY.pk, "BOOTSTRAP")


class BootstrapMarker(Record):
    """Written once, with the first admin key, in the same transaction: its conditional put
    is what lets exactly one of several simultaneous bootstraps win."""

    KIND: ClassVar[str] = "bootstrap"

    key_id: str
    at: datetime

    @property
    def key(self) -> ItemKey:
        return BOOTSTRAP_KEY


# --- key scope: who may manage keys, and what they may grant ---------------------------------


def require_key_manager(actor: Principal, *, doing: str) -> None:
    """Key management and the platform audit chain need an admin key without model patterns.

    New admin keys cannot have patterns (`NewKey`); this also stops keys made before that
    rule (or edited in the store) from managing keys with a partial view of the platform.
    """
    access.require(actor, access.MANAGE_KEYS, doing=doing)
    if "*" not in actor.patterns:
        raise Forbidden(f"{doing} needs an admin key without model patterns (this key's: "
                        f"{', '.join(actor.patterns)})")


def pattern_within(inner: str, outer: str) -> bool:
    """True only when every model name `inner` matches, `outer` matches too (conservative:
    False where that is not evident)."""
    if outer == "*" or inner == outer:
        return True
    if "*" not in outer:
        return False
    if outer.count("*") == 1 and outer.endswith("*"):
        return inner.startswith(outer[:-1]) and "*" not in inner[: len(outer) - 1]
    # one `*` in the middle: `c*n` holds `c...n` names; inner must keep both ends fixed
    if outer.count("*") == 1:
        head, tail = outer.split("*")
        return "*" not in inner and inner.startswith(head) and inner.endswith(tail) and len(inner) >= len(outer) - 1
    return False


def within_scope(creator: Principal, new: NewKey) -> bool:
    """A key may only be given roles its creator has (an admin has them all) and patterns
    inside its creator's."""
    roles = frozenset(Role) if Role.admin in creator.roles else creator.roles
    return set(new.roles) <= roles and all(
        any(pattern_within(p, q) for q in creator.patterns) for p in new.patterns)


def create_key(deps: Deps, ctx: Context, new: NewKey) -> CreatedKey:
    require_key_manager(ctx.actor, doing="creating keys")
    if not within_scope(ctx.actor, new):
        raise Forbidden("a key can only be created with roles and model patterns its creator has")
    return _create_key(deps, ctx, new)


def _create_key(
    deps: Deps, ctx: Context, new: NewKey, *, first: bool = False, recovery: Recovery | None = None
) -> CreatedKey:
    """Create a key; `first` makes it the installation's first (see `bootstrap_first_admin_key`),
    `recovery` an admin key for an installation locked out (see `recover_admin_key`)."""
    key_id, secret = deps.new_id(), deps.new_secret()
    if not KEY_ID_RE.match(key_id) or len(secret) < 43:
        raise ValueError("id/secret factories must give 16 hex digits and >= 256-bit secrets")
    token = f"mp_{key_id}_{secret}"

    def build():
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        if first and deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=1).items:
            raise BootstrapRefused("this deployment already has API keys; create more with an admin key")
        if recovery is not None and recovery.only_when_locked_out:
            _require_locked_out(deps)
        now = deps.clock()
        key = ApiKey(
            key_id=key_id,
            owner=new.owner,
            roles=sorted(set(new.roles)),
            patterns=new.patterns,
            description=new.description,
            created_at=now,
            created_by=ctx.actor.id,
            expires_at=now + timedelta(days=new.expires_in_days) if new.expires_in_days else None,
            secret_hash=hash_secret(key_id, secret),
        )
        info = key.info()
        writes = [Put(key, if_absent=Conflict(f"key {key_id} exists"))]
        if first:
            # the listing index may lag behind a bootstrap that just committed; this item cannot
            refused = BootstrapRefused(
                "this deployment already has its first admin key; create more with an admin key"
            )
            writes.append(Put(BootstrapMarker(key_id=key_id, at=now), if_absent=refused))
        details = info.model_dump(mode="json")
        if recovery is not None:
            details["reason"] = recovery.reason
        uow = change(
            deps, ctx, head,
            action="key.recover" if recovery is not None else "key.create", target=f"key:{key_id}",
            details=details,
            writes=writes,
        )  # fmt: skip
        return uow, info

    return CreatedKey(info=commit(deps, build), token=token)


def bootstrap_admin_key(deps: Deps, owner: str, request_id: str = "bootstrap") -> CreatedKey:
    """Create an admin key as the platform itself (first key of a fresh installation)."""
    ctx = Context(actor=system_actor("bootstrap"), request_id=request_id)
    return create_key(deps, ctx, NewKey(owner=owner, roles=["admin"], description="bootstrap admin"))


def bootstrap_first_admin_key(deps: Deps, owner: str, request_id: str = "bootstrap") -> CreatedKey:
    """The installation's first admin key, created as the platform itself, exactly once.

    Raises BootstrapRefused when any key exists, or when another bootstrap wrote the
    installation's bootstrap record first: the record is put, conditionally, in the same
    transaction as the key and its audit event, so of several simultaneous first runs one
    creates a key and the others create nothing.
    """
    ctx = Context(actor=system_actor("bootstrap"), request_id=request_id)
    new = NewKey(owner=owner, roles=["admin"], description="bootstrap admin")
    return _create_key(deps, ctx, new, first=True)


@dataclass(frozen=True)
class Recovery:
    #: recorded in the audit event: why a key was issued outside the API.
    reason: str
    #: refuse while any admin key still works (AWS); local mode's state owner may always recover.
    only_when_locked_out: bool = True


def recover_admin_key(
    deps: Deps, owner: str, *, reason: str, only_when_locked_out: bool = True,
    request_id: str = "recover",
) -> CreatedKey:
    """A new admin key (never expiring) for an installation whose admin keys do not work.

    Issued by whoever can write the table directly (IAM credentials on AWS, the state
    directory's owner in local mode), outside the API, and audited as `key.recover` with
    `reason`. With `only_when_locked_out` it raises BootstrapRefused while any active admin
    key exists; the check runs inside the platform-chain change, so it cannot race a key
    created through the API.
    """
    ctx = Context(actor=system_actor("recovery"), request_id=request_id)
    new = NewKey(owner=owner, roles=["admin"], description="recovered admin")
    return _create_key(deps, ctx, new, recovery=Recovery(reason, only_when_locked_out))


def _require_locked_out(deps: Deps) -> None:
    now = deps.clock()
    for key in _other_keys(deps, set()):
        if _active_admin(key, now):
            fresh = deps.store.get(ApiKey.key_for(key.key_id), ApiKey, consistent=True)
            if fresh is not None and _active_admin(fresh, now):
                raise BootstrapRefused(
                    f"admin key {key.key_id} ({key.owner}) is active: recovery issues a key only when "
                    "no admin key works. Manage keys with that one."
                )


def list_keys(
    deps: Deps, ctx: Context, *, limit: int = 50, cursor: str | None = None, owner: str | None = None
) -> Page[ApiKeyInfo]:
    """Keys by owner, then id (one index Query per page); `owner` lists one owner's keys
    (compared trimmed and case-folded)."""
    require_key_manager(ctx.actor, doing="listing keys")
    prefix = owner_prefix(owner) if owner is not None else ""
    return deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=limit, cursor=cursor, prefix=prefix)


def revoke_key(deps: Deps, ctx: Context, key_id: str) -> ApiKeyInfo:
    require_key_manager(ctx.actor, doing="revoking keys")

    def build():
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        key = deps.store.get(ApiKey.key_for(key_id), ApiKey, consistent=True) if KEY_ID_RE.match(key_id) else None
        if key is None:
            raise KeyNotFound(f"key {key_id!r} does not exist")
        if key.revoked_at is not None:
            raise InvalidTransition(f"key {key_id} is already revoked")
        revoked = key.model_copy(update={"revoked_at": deps.clock(), "revoked_by": ctx.actor.id})
        require_lasting_admin(deps, [revoked])
        uow = change(
            deps, ctx, head,
            action="key.revoke", target=f"key:{key_id}", details={"key_id": key_id},
            writes=[Put(revoked)],
        )  # fmt: skip
        return uow, revoked.info()

    info = commit(deps, build)
    deps.authorizer_cache.flush()  # cached Allow answers for this key end now
    return info


# --- no lock-out -------------------------------------------------------------------------


def lasting_admin(key: ApiKeyInfo, now: datetime) -> bool:
    """An admin key that works now and never expires."""
    return Role.admin in key.roles and key.state(now) == "active" and key.expires_at is None


def _active_admin(key: ApiKeyInfo, now: datetime) -> bool:
    return Role.admin in key.roles and key.state(now) == "active"


def require_lasting_admin(deps: Deps, changes: list[ApiKeyInfo]) -> None:
    """Refuse a change of keys after which nobody could manage keys (the lock-out rule).

    `changes` are keys as the change will leave them: revoked, given an expiry (rotation's
    grace period), or new. The change is refused with `LastAdminKey` when it would take
    away the last active admin key that never expires, or the last active admin key of
    any kind: an expiring one only defers the lock-out to its expiry date.

    Call it while building a platform-chain change (after `read_head`): every key change
    commits against that chain's head, so no other key change can slip in between this
    check and the commit; two racing revocations of the last two admin keys cannot both
    pass. The listing index may lag behind a write, so a key it names as the remaining
    admin is read again, consistently, before it counts.
    """
    now = deps.clock()
    changed = {key.key_id: key for key in changes}
    before = {key_id: deps.store.get(ApiKey.key_for(key_id), ApiKey, consistent=True) for key_id in changed}
    loses_lasting = any(old is not None and lasting_admin(old, now) for old in before.values())
    loses_active = any(old is not None and _active_admin(old, now) for old in before.values())
    if not loses_active:
        return  # neither kind of admin key becomes fewer: nothing to check
    if any(lasting_admin(key, now) for key in changes):
        return
    if not loses_lasting and any(_active_admin(key, now) for key in changes):
        return
    wanted = lasting_admin if loses_lasting else _active_admin
    for other in _other_keys(deps, set(changed)):
        if wanted(other, now):
            fresh = deps.store.get(ApiKey.key_for(other.key_id), ApiKey, consistent=True)
            if fresh is not None and wanted(fresh, now):
                return
    names = ", ".join(sorted(changed))
    if loses_lasting:
        why = (f"key {names} is the last active admin key without an expiry: after this change "
               "every admin key would be gone or due to expire, and then nobody could manage keys")
    else:
        why = f"key {names} is the last active admin key: after this change nobody could manage keys"
    raise LastAdminKey(f"{why}. Create another admin key without an expiry first, then retry.")


def _other_keys(deps: Deps, excluded: set[str]):
    cursor: str | None = None
    while True:
        page = deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=100, cursor=cursor)
        yield from (key for key in page.items if key.key_id not in excluded)
        if page.cursor is None:
            return
        cursor = page.cursor


class Identity(BaseModel):
    """The calling key (never its secret) and what its roles allow."""

    key: ApiKeyInfo
    permissions: list[Permission]


def whoami(deps: Deps, ctx: Context) -> Identity:
    """The caller's own key and permissions; any active key may ask."""
    key = deps.store.get(ApiKey.key_for(ctx.actor.id), ApiKey) if KEY_ID_RE.match(ctx.actor.id) else None
    if key is None:
        raise KeyNotFound(f"the calling key {ctx.actor.id!r} does not exist")
    return Identity(key=key.info(), permissions=access.permissions(ctx.actor))


def authenticate(deps: Deps, authorization: str | None) -> Principal:
    """The principal of an `Authorization: Bearer mp_...` header, in one GetItem.

    Raises Unauthenticated for a missing, malformed, unknown, wrong, expired or revoked key;
    the message says which but never echoes the token.
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    match = TOKEN_RE.match(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise Unauthenticated("missing or malformed API key (expected 'Authorization: Bearer mp_...')")
    key_id, secret = match.groups()
    key = deps.store.get(ApiKey.key_for(key_id), ApiKey)
    # Compare even when the key is unknown, so timing does not reveal which ids exist.
    expected = key.secret_hash if key else hash_secret("0" * 16, "")
    if not hmac.compare_digest(expected, hash_secret(key_id, secret)) or key is None:
        raise Unauthenticated("invalid API key")
    now = deps.clock()
    state = key.state(now)
    if state != "active":
        raise Unauthenticated(f"API key {key_id} is {state}")
    note_use(deps, key, now)
    return Principal(id=key_id, owner=key.owner, roles=frozenset(key.roles), patterns=tuple(key.patterns))


#: `last_used_at` is sampled: at most one write per key per this long.
USAGE_SAMPLE = timedelta(hours=1)


def note_use(deps: Deps, key: ApiKeyInfo, now: datetime) -> None:
    """Record that `key` authenticated, unless it was recorded within the last `USAGE_SAMPLE`
    (the GetItem that authenticated tells; the write is conditional, so Lambdas racing write
    once). Telemetry, not a governance change: not audited, and never a reason to refuse."""
    if key.last_used_at is not None and now - key.last_used_at < USAGE_SAMPLE:
        return
    try:
        deps.store.touch(ApiKey.key_for(key.key_id), "last_used_at", now, unless_after=now - USAGE_SAMPLE)
    except Exception:  # noqa: BLE001 - a throttled sample must not turn into a refused request
        return
