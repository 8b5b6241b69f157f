"""API keys and principals: who acts (`Principal`), and the keys they hold.

Plain pydantic, no storage calls: `ApiKey` is what the store keeps (its secret only as a
hash), `ApiKeyInfo` what may be shown. `functions.core.models` re-exports all of it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.core.records import KEYS_INDEX_PK, META, IndexKey, ItemKey, Record, key_pk

#: model patterns on keys: model-name characters plus `*` wildcards.
PATTERN_RE = r"^[a-z0-9*-]{1,48}$"


def normalize_owner(owner: str) -> str:
    """The person an owner string names: NFKC (full-width `ａｌｉｃｅ` is `alice`), case-folded
    (`Straße` is `strasse`), trimmed. Every comparison of owners (four eyes, two approvers,
    keys by owner) goes through this."""
    return unicodedata.normalize("NFKC", owner).casefold().strip()


def same_person(key_a: str, owner_a: str | None, key_b: str, owner_b: str | None) -> bool:
    """The same key, or keys held by the same (normalized) owner."""
    if key_a == key_b:
        return True
    return owner_a is not None and owner_b is not None and normalize_owner(owner_a) == normalize_owner(owner_b)


class Contributor(BaseModel):
    """A person who shaped a version (published it, uploaded its training data, started its
    retrain): the key they acted with and its owner, as recorded by the platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(max_length=64)
    owner: str | None = Field(default=None, max_length=256)

    def is_(self, actor: Principal) -> bool:
        return same_person(self.id, self.owner, actor.id, actor.owner)


def owner_prefix(owner: str) -> str:
    """The listing-index sort-key prefix of one owner's keys: the owner, normalized
    (`normalize_owner`) and percent-encoded (so no owner's prefix is another's), then `#`."""
    return quote(normalize_owner(owner), safe="") + "#"


class Role(StrEnum):
    admin = "admin"
    publisher = "publisher"
    approver = "approver"
    consumer = "consumer"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        if not re.match(PATTERN_RE, pattern):
            raise ValueError(f"{pattern!r} is not a model pattern (letters, digits, '-', '*')")
    return patterns


class NewKey(_Strict):
    """Command: create an API key."""

    owner: str = Field(min_length=1, max_length=256, description="the person or service holding it")
    roles: list[Role] = Field(min_length=1, max_length=4)
    patterns: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=32)
    description: str = Field(default="", max_length=512)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    _patterns = field_validator("patterns")(_check_patterns)

    @model_validator(mode="after")
    def _admins_are_platform_wide(self) -> NewKey:
        # key management and the platform chain are platform-wide: an admin limited to some
        # models would be a contradiction (issue 10: one minted an unlimited key)
        if Role.admin in self.roles and self.patterns != ["*"]:
            raise ValueError("admin keys take no model patterns (patterns must be ['*']); "
                             "give a team the publisher and approver roles on its patterns instead")
        return self


class ApiKeyInfo(Record):
    """What may be shown about a key: everything but the secret and its hash."""

    KIND: ClassVar[str] = "key"

    key_id: str
    owner: str
    roles: list[Role]
    patterns: list[str]
    description: str = ""
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    #: rotation: the key this one replaced, and the one that replaces it (`rotation`).
    rotated_from: str | None = None
    rotated_to: str | None = None
    #: when the key last authenticated, sampled (at most one write per key per hour).
    last_used_at: datetime | None = None

    #: fields the store keeps as attributes of their own, written outside the chain (`touch`).
    SAMPLED: ClassVar[tuple[str, ...]] = ("last_used_at",)

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.key_id)

    @staticmethod
    def key_for(key_id: str) -> ItemKey:
        return ItemKey(key_pk(key_id), META)

    def index_keys(self) -> IndexKey:
        # by owner, then id: listing one owner's keys is one Query (`owner_prefix`)
        return IndexKey(KEYS_INDEX_PK, f"{owner_prefix(self.owner)}{self.key_id}")

    def state(self, now: datetime) -> Literal["active", "expired", "revoked"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class ApiKey(ApiKeyInfo):
    """The stored key. `secret_hash` never leaves the store and the authorizer."""

    secret_hash: str = Field(repr=False)

    def info(self) -> ApiKeyInfo:
        return ApiKeyInfo.model_validate(self.model_dump(exclude={"secret_hash"}))


class Principal(_Strict):
    """Who is acting: an API key's holder, or a platform component (`system`)."""

    id: str
    owner: str | None = None
    roles: frozenset[Role]
    patterns: tuple[str, ...] = ("*",)
    system: bool = False

    def covers(self, model: str) -> bool:
        """True when one of the principal's model patterns matches `model`."""
        return any(fnmatchcase(model, pattern) for pattern in self.patterns)

    @property
    def label(self) -> str:
        return f"{self.id} ({self.owner})" if self.owner else self.id

    def contributor(self) -> Contributor:
        return Contributor(id=self.id, owner=self.owner)


def system_actor(component: str) -> Principal:
    """The principal for a platform component, e.g. the retrain workflow."""
    return Principal(id=f"system:{component}", roles=frozenset({Role.admin}), system=True)
