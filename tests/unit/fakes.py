"""In-memory implementations of the core's own ports (not of boto3), for unit tests.

They follow the same contract as the DynamoDB/S3 adapters: the store keeps records by
key, `commit` checks the head and `if_absent` conditions atomically, pages are cut by
`limit` with an opaque cursor.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import count

from functions.core.audit import GENESIS, AuditEvent, ChainHead
from functions.core.errors import ConcurrentModification, InvalidInput
from functions.core.mutations import Delete, Put, UnitOfWork
from functions.core.ports import Deps, StoredObject, Upload
from functions.core.records import ItemKey, Page


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[ItemKey, dict] = {}
        self.heads: dict[ItemKey, tuple[int, str]] = {}
        self.chains: dict[str, dict[int, AuditEvent]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()

    # MetadataStore
    def get(self, key, cls, *, consistent=False):
        self.requests.append("get")
        item = self.items.get(key)
        return self._record(item, cls) if item else None

    @staticmethod
    def _record(item, cls):
        data = dict(item["data"])
        data.update({k: v for k, v in item.get("sampled", {}).items() if k in getattr(cls, "SAMPLED", ())})
        return cls.model_validate(data)

    def read_head(self, chain, key, cls):
        self.requests.append("get")
        item = self.items.get(key)
        seq, hash_ = self.heads.get(key, (0, GENESIS))
        record = cls.model_validate(item["data"]) if item else None
        return record, ChainHead(chain=chain, key=key, seq=seq, hash=hash_)

    def query(self, pk, cls, *, prefix="", limit=50, newest_first=False, cursor=None, consistent=False,
              at_most=None):
        self.requests.append("query")
        keys = sorted(
            (k for k in self.items if k.pk == pk and k.sk.startswith(prefix) and (at_most is None or k.sk <= at_most)),
            key=lambda k: k.sk,
            reverse=newest_first,
        )
        return self._page([(k.sk, self.items[k]) for k in keys], cls, limit, cursor)

    def list_index(self, index_pk, cls, *, limit=50, cursor=None, prefix=""):
        self.requests.append("query")
        rows = sorted(
            ((it["index"].sk, it) for it in self.items.values()
             if it["index"] and it["index"].pk == index_pk and it["index"].sk.startswith(prefix)),
            key=lambda row: row[0],
        )
        return self._page(rows, cls, limit, cursor)

    def touch(self, key, field, value, *, unless_after):
        self.requests.append("update")
        with self.lock:
            item = self.items.get(key)
            if item is None:
                return False
            current = item.get("sampled", {}).get(field)
            if current is not None and current > unless_after:
                return False
            item.setdefault("sampled", {})[field] = value
            return True

    @staticmethod
    def _page(rows, cls, limit, cursor):
        start = 0
        if cursor is not None:
            positions = [i for i, (sk, _) in enumerate(rows) if sk == cursor]
            if not positions:
                raise InvalidInput("bad cursor", [{"path": "cursor", "message": "not a cursor"}])
            start = positions[0] + 1
        chunk = rows[start : start + limit]
        more = start + limit < len(rows)
        return Page([MemoryStore._record(it, cls) for _, it in chunk], chunk[-1][0] if more else None)

    def commit(self, uow: UnitOfWork) -> None:
        self.requests.append("transact")
        with self.lock:
            head = uow.head
            head_put = any(isinstance(w, Put) and w.record.key == head.key for w in uow.writes)
            moved = self.heads.get(head.key, (0, GENESIS))[0] != head.seq
            if moved and not (head_put and head.seq == 0):
                raise ConcurrentModification(f"chain {head.chain} moved")
            for write in uow.writes:
                if isinstance(write, Put) and write.if_absent and write.record.key in self.items:
                    raise write.if_absent
            for write in uow.writes:
                if isinstance(write, Put):
                    record = write.record
                    self.items[record.key] = {
                        "data": record.model_dump(mode="json"),
                        "index": record.index_keys(),
                    }
                elif isinstance(write, Delete):
                    self.items.pop(write.key, None)
            self.heads[head.key] = (uow.event.seq, uow.event.hash)
            self.chains.setdefault(uow.event.chain, {})[uow.event.seq] = uow.event

    # AuditLog
    def events_of(self, chain):
        return [self.chains.get(chain, {})[s] for s in sorted(self.chains.get(chain, {}))]

    def events(self, chain, *, limit=50, cursor=None, newest_first=True):
        rows = [(str(e.seq), e) for e in self.events_of(chain)]
        if newest_first:
            rows.reverse()
        start = 0 if cursor is None else [sk for sk, _ in rows].index(cursor) + 1
        chunk = rows[start : start + limit]
        return Page([e for _, e in chunk], chunk[-1][0] if start + limit < len(rows) else None)

    def all_events(self, chain):
        return iter(self.events_of(chain))


class MemoryArtifacts:
    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}

    def locate(self, model, version):
        return f"s3://artifacts/models/{model}/{version}/model.tar.gz"

    def upload_url(self, uri, sha256, size):
        return Upload(
            url=f"https://upload.example/{uri}",
            headers={"x-amz-checksum-sha256": sha256},
            expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        )

    def stat(self, uri):
        return self.objects.get(uri)


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


class RecordingEvents:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def publish(self, detail_type, detail):
        self.sent.append((detail_type, detail))


def make_deps(**overrides) -> Deps:
    ids = count(1)
    store = overrides.pop("store", None) or MemoryStore()
    defaults = {
        "store": store,
        "audit": store,
        "artifacts": MemoryArtifacts(),
        "events": RecordingEvents(),
        "clock": ManualClock(),
        "new_id": lambda: f"{next(ids):016x}",
        "new_secret": lambda: "s" * 43,
        "sleep": lambda _s: None,
        "jitter": lambda: 0.5,
    }
    defaults.update(overrides)
    return Deps(**defaults)
