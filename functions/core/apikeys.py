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

from functions.core import access
from functions.core.errors import (
    BootstrapRefused,
    Conflict,
    InvalidTransition,
    KeyNotFound,
    Unauthenticated,
)
from functions.core.models import ApiKey, ApiKeyInfo, NewKey, Principal, system_actor
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps
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


def create_key(deps: Deps, ctx: Context, new: NewKey) -> CreatedKey:
    access.require(ctx.actor, access.MANAGE_KEYS, doing="creating keys")
    return _create_key(deps, ctx, new)


def _create_key(deps: Deps, ctx: Context, new: NewKey, *, first: bool = False) -> CreatedKey:
    """Create a key; `first` makes it the installation's first (see `bootstrap_first_admin_key`)."""
    key_id, secret = deps.new_id(), deps.new_secret()
    if not KEY_ID_RE.match(key_id) or len(secret) < 43:
        raise ValueError("id/secret factories must give 16 hex digits and >= 256-bit secrets")
    token = f"mp_{key_id}_{secret}"

    def build():
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        if first and deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=1).items:
            raise BootstrapRefused("this deployment already has API keys; create more with an admin key")
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
        uow = change(
            deps, ctx, head,
            action="key.create", target=f"key:{key_id}",
            details=info.model_dump(mode="json"),
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


def list_keys(deps: Deps, ctx: Context, *, limit: int = 50, cursor: str | None = None) -> Page[ApiKeyInfo]:
    access.require(ctx.actor, access.MANAGE_KEYS, doing="listing keys")
    return deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=limit, cursor=cursor)


def revoke_key(deps: Deps, ctx: Context, key_id: str) -> ApiKeyInfo:
    access.require(ctx.actor, access.MANAGE_KEYS, doing="revoking keys")

    def build():
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        key = deps.store.get(ApiKey.key_for(key_id), ApiKey, consistent=True) if KEY_ID_RE.match(key_id) else None
        if key is None:
            raise KeyNotFound(f"key {key_id!r} does not exist")
        if key.revoked_at is not None:
            raise InvalidTransition(f"key {key_id} is already revoked")
        revoked = key.model_copy(update={"revoked_at": deps.clock(), "revoked_by": ctx.actor.id})
        uow = change(
            deps, ctx, head,
            action="key.revoke", target=f"key:{key_id}", details={"key_id": key_id},
            writes=[Put(revoked)],
        )  # fmt: skip
        return uow, revoked.info()

    info = commit(deps, build)
    deps.authorizer_cache.flush()  # cached Allow answers for this key end now
    return info


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
    state = key.state(deps.clock())
    if state != "active":
        raise Unauthenticated(f"API key {key_id} is {state}")
    return Principal(id=key_id, owner=key.owner, roles=frozenset(key.roles), patterns=tuple(key.patterns))
