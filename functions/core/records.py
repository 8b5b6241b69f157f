"""Records: what the single metadata table stores, and how each is keyed.

A record is a pydantic model with a fixed `kind` and a `key` (partition, sort) following
DESIGN.md §3. The store persists any record generically (its JSON body plus its keys), so a
new kind of item (e.g. `DEPLOY#<id>` under `MODEL#<name>`) is just a new `Record` subclass
with its own `key` — no change to the adapters. A record that appears in a listing index
returns its index keys from `index_keys`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class ItemKey:
    """Primary key of one item in the metadata table."""

    pk: str
    sk: str


@dataclass(frozen=True)
class IndexKey:
    """Keys of a record in the sparse listing index (GSI1)."""

    pk: str
    sk: str


class Record(BaseModel):
    """Base of everything stored in the metadata table."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    #: stored as the item's `kind` attribute; also a guard when reading.
    KIND: ClassVar[str] = "record"

    @property
    def key(self) -> ItemKey:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def index_keys(self) -> IndexKey | None:
        """Keys in the listing index, or None when the record is not listed there."""
        return None


R = TypeVar("R", bound=Record)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `cursor` is opaque and None on the last page."""

    items: list[T]
    cursor: str | None = None


# --- key conventions (DESIGN.md §3) -------------------------------------------------------

PLATFORM_CHAIN = "platform"
META = "META"


def model_pk(name: str) -> str:
    return f"MODEL#{name}"


def version_sk(sort_key: str) -> str:
    return f"V#{sort_key}"


VERSION_PREFIX = "V#"
ALIAS_PREFIX = "ALIAS#"
MODELS_INDEX_PK = "MODELS"
KEYS_INDEX_PK = "KEYS"


def key_pk(key_id: str) -> str:
    return f"KEY#{key_id}"


PLATFORM_HEAD_KEY = ItemKey("PLATFORM", META)


class PlatformHead(Record):
    """The item that carries the platform chain's head (keys and other platform events)."""

    KIND: ClassVar[str] = "platform"

    @property
    def key(self) -> ItemKey:
        return PLATFORM_HEAD_KEY


class StepMark(BaseModel):
    """When a workflow record (deployment, retrain) reached one of its steps."""

    model_config = ConfigDict(frozen=True)

    step: str
    at: datetime
