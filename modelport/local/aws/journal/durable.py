"""`Durable`: moto behind a write-ahead journal, so that what the embedded AWS acknowledged
survives a crash of any process (SIGKILL, OOM), not only a clean stop.

Every DynamoDB, S3 and SQS request passes through here on its way to moto:

* DynamoDB requests run one at a time (moto applies a transaction item by item, and
  DynamoDB's transactions are atomic and serialisable). After a write succeeds, the
  after-images of the items it may have changed are appended to the journal as one
  record, still in turn, so a transaction is in the journal whole or not at all.
* S3: bodies become fsynced blobs before moto creates the version; when the request
  ends, the after-images of the keys it changed (every version, naming blobs) are
  appended, under a lock per key stripe. SQS message changes are journaled as they
  happen (`hooks`).
* Configuration changes (tables, buckets, queues, alarms, scaling) are journaled as
  requests, replayed through moto at start.

The answer goes back only after the journal is on disk up to the request's record
(`fdatasync`, shared by concurrent requests); a read waits the same way, so nothing
anyone saw can be lost. At start the last snapshot is restored and the journal replayed
after it; `checkpoint` writes a new snapshot and drops the journal it covers. A write
costs its own images, never the total state: a checkpoint (which does cost the state)
runs only once the journal has grown as large as the last snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from modelport.local.aws.journal import dynamodb_state, hooks, requests, s3_state, sqs_state
from modelport.local.aws.journal.log import Log
from modelport.local.aws.snapshot import FORMAT_VERSION, Snapshotter
from modelport.local.statefiles import BlobStore

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
_STRIPES = 32
#: DynamoDB items serialised per turn of the lock while a checkpoint captures a table
_CHUNK = 2000


def _ok(status: str) -> bool:
    return status[:1] == "2"


class Durable:
    """WSGI application: moto behind the journal. `restore()` before serving."""

    def __init__(
        self, moto_app: WSGIApp, root: Path, *, client: Callable[[str], Any], account: str, region: str,
        fsync: bool = True, min_journal_bytes: int = 8 << 20,
    ) -> None:
        self.moto_app = moto_app
        self.root = root
        self._account, self._region = account, region
        self.blobs = BlobStore(root / "blobs", fsync=fsync)
        self.log = Log(root / "journal", fsync=fsync)
        self.snapshots = Snapshotter(client, root, region, self.blobs)
        self.min_journal_bytes = min_journal_bytes
        self._ddb = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._checkpointing = threading.Lock()
        self._local = threading.local()
        self._journaling = False
        self.snapshot_bytes = 0
        self.last_checkpoint_s = 0.0
        self.replayed = 0

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._journaling:
            return self.moto_app(environ, start_response)
        service = requests.signing_service(environ)
        if service == "dynamodb":
            return self._dynamodb(environ, start_response)
        if service == "s3":
            return self._s3(environ, start_response)
        if service in ("sqs", "monitoring", "application-autoscaling"):
            return self._configured(service, environ, start_response)
        return self.moto_app(environ, start_response)

    def _call(self, environ: dict) -> tuple[str, list, list[bytes]]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        result = self.moto_app(environ, start)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured.get("status", "500 INTERNAL SERVER ERROR"), captured.get("headers", []), chunks

    def _answer(self, start_response: Callable, status: str, headers: list, chunks: list[bytes], mark: int) -> list[bytes]:
        self.log.sync(mark)  # durable (and what was read: durable too) before anyone hears of it
        start_response(status, headers)
        return chunks

    def _dynamodb(self, environ: dict, start_response: Callable) -> list[bytes]:
        body = requests.read_body(environ)
        op = requests.operation(environ, body)
        with self._ddb:
            status, headers, chunks = self._call(environ)
            if _ok(status) and not requests.is_read(op):
                record = self._dynamodb_record(op, environ, body)
                if record is not None:
                    self._append(record)
            mark = self.log.written
        return self._answer(start_response, status, headers, chunks, mark)

    def _dynamodb_record(self, op: str, environ: dict, body: bytes) -> dict | None:
        if op in dynamodb_state.TABLE_WRITES:
            return requests.entry(environ, body)
        if op in dynamodb_state.ITEM_WRITES:
            seen: dict[str, dict] = {}
            for table, attributes in dynamodb_state.changed_keys(op, orjson.loads(body)):
                image = dynamodb_state.image(self._account, self._region, table, attributes)
                if image is not None:
                    seen[orjson.dumps([table, image["key"]], option=orjson.OPT_SORT_KEYS).decode()] = image
            return {"t": "batch", "entries": list(seen.values())} if seen else None
        # a write this layer does not know item by item (PartiQL, imports): whole tables
        log.info("journal: %s is journaled as whole tables", op)
        return {"t": "batch", "entries": [self._table_image(name)
                                          for name in dynamodb_state.table_names(self._account, self._region)]}

    def _table_image(self, name: str) -> dict:
        items = dynamodb_state.table_items(self._account, self._region, name)
        return {"t": "ddb-table", "table": name, "items": [dynamodb_state.item_json(i) for i in items]}

    def _s3(self, environ: dict, start_response: Callable) -> list[bytes]:
        bucket_write = requests.is_s3_bucket_write(environ)
        body = requests.read_body(environ) if bucket_write else b""
        self._local.pins = []
        try:
            with hooks.recording() as keys:
                status, headers, chunks = self._call(environ)
            if keys:
                with self._stripes_of(keys):
                    images = [s3_state.image(self._account, b, k, self.blobs) for b, k in sorted(keys)]
                    self._append({"t": "batch", "entries": images})
            if bucket_write and _ok(status):
                self._append(requests.entry(environ, body))
            mark = self.log.written
        finally:
            for digest in self._local.pins:
                self.blobs.unpin(digest)
            self._local.pins = []
        return self._answer(start_response, status, headers, chunks, mark)

    def _configured(self, service: str, environ: dict, start_response: Callable) -> list[bytes]:
        body = requests.read_body(environ)
        op = requests.operation(environ, body)
        status, headers, chunks = self._call(environ)
        if _ok(status) and (op in sqs_state.QUEUE_WRITES if service == "sqs" else requests.kept_config(service, op)):
            self._append(requests.entry(environ, body))
        return self._answer(start_response, status, headers, chunks, self.log.written)

    # -- hooks' sink ----------------------------------------------------------------------
    def s3_body(self, value: bytes) -> str:
        digest = self.blobs.put(value)
        self.blobs.pin(digest)
        pins = getattr(self._local, "pins", None)
        if pins is not None:
            pins.append(digest)
        else:  # a put outside a request of ours (moto internals): nothing will unpin it later
            self.blobs.unpin(digest)
        return digest

    def s3_attach(self, key: Any, digest: str) -> None:
        s3_state.attach_blob(key, self.blobs, digest, key.contentsize)

    def sqs_changed(self, entries: list[dict]) -> None:
        self._append({"t": "batch", "entries": entries})

    # -- journal --------------------------------------------------------------------------
    def _append(self, record: dict) -> int:
        return self.log.append(orjson.dumps(record))

    def _stripes_of(self, keys: Iterable[tuple[str, str]]) -> _Locks:
        numbers = sorted({zlib.crc32(f"{b}/{k}".encode()) % _STRIPES for b, k in keys})
        return _Locks([self._stripes[n] for n in numbers])

    def _apply(self, record: dict, messages: sqs_state.Applier) -> None:
        kind = record["t"]
        if kind == "batch":
            for entry in record["entries"]:
                self._apply(entry, messages)
        elif kind == "ddb":
            dynamodb_state.apply(self._account, self._region, record)
        elif kind == "ddb-table":
            self._apply_table(record)
        elif kind == "s3":
            s3_state.apply(self._account, self._region, record, self.blobs)
        elif kind in ("sqs", "sqs-purge"):
            messages.apply(record)
        elif kind == "req":
            requests.replay(self.moto_app, record)
        else:
            raise ValueError(f"unknown journal record type {kind!r}")

    def _apply_table(self, record: dict) -> None:
        table = dynamodb_state.backend(self._account, self._region).tables.get(record["table"])
        if table is None:
            log.warning("journal: items of table %s, which no longer exists, skipped", record["table"])
            return
        table.items.clear()
        for item in record["items"]:
            key = {table.hash_key_attr: item[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = item[table.range_key_attr]
            dynamodb_state.apply(self._account, self._region,
                                 {"t": "ddb", "table": record["table"], "key": key, "item": item})

    # -- start, checkpoints, stop ---------------------------------------------------------
    def restore(self, *, from_disk: bool = True) -> None:
        """Restore the snapshot, replay the journal after it, then journal new requests."""
        hooks.install()
        self.blobs.remove_temporary()
        document = self.snapshots.read() if from_disk else None
        first = 1
        if document and document["format_version"] == 1:
            self.snapshots.restore_format_1(document)
        elif document:
            self.snapshots.restore_configuration(document)
            messages = sqs_state.Applier(self._account, self._region)
            for table in document["data"]["dynamodb"]:
                self._apply_table({"t": "ddb-table", **table})
            for entry in document["data"]["s3"]:
                s3_state.apply(self._account, self._region, entry, self.blobs)
            for entry in document["data"]["sqs"]:
                messages.apply(entry)
            self.snapshots.restore_notifications(document)
            first = int(document["journal_from"])
            self.snapshot_bytes = self.snapshots.manifest.stat().st_size
        if from_disk:
            messages = sqs_state.Applier(self._account, self._region)
            self.replayed = 0
            for raw in self.log.replay_from(first):
                self._apply(orjson.loads(raw), messages)
                self.replayed += 1
        else:  # a fresh start: what an earlier run left is not this state
            self.log.drop_before(1 << 62)
        self.log.open()
        self._journaling = True
        hooks.activate(self)
        if self.replayed:
            log.info("replayed %d journal records after the snapshot", self.replayed)
        if document and document["format_version"] == 1:
            self.checkpoint()  # write it in this format, with the journal it starts

    def needs_checkpoint(self) -> bool:
        return self.log.bytes_in_segment > max(self.min_journal_bytes, self.snapshot_bytes)

    def checkpoint(self) -> None:
        """A snapshot of everything, then drop the journal segments it covers.

        The journal moves to a new segment first; the capture that follows sees every write
        of the old segments (and perhaps some of the new one, whose replay then sets the
        same images again), so restoring it and replaying from the new segment is exact.
        """
        with self._checkpointing:
            started = time.perf_counter()
            first = self.log.rotate()
            document = {
                "format_version": FORMAT_VERSION, "journal_from": first, "taken_at": time.time(),
                **self.snapshots.configuration(),
                "data": {"dynamodb": self._capture_dynamodb(), "s3": self._capture_s3(), "sqs": self._capture_sqs()},
            }
            self.snapshot_bytes = self.snapshots.write(document, orjson.dumps(document))
            self.log.drop_before(first)
            self.blobs.keep_only({d for entry in document["data"]["s3"] for d in s3_state.referenced_blobs(entry)})
            self.last_checkpoint_s = time.perf_counter() - started

    def _capture_dynamodb(self) -> list[dict]:
        tables = []
        with self._ddb:
            names = dynamodb_state.table_names(self._account, self._region)
        for name in names:
            with self._ddb:
                items = dynamodb_state.table_items(self._account, self._region, name)
            encoded: list[dict] = []
            for start in range(0, len(items), _CHUNK):
                with self._ddb:  # an item is never read while a write changes it
                    encoded += [dynamodb_state.item_json(i) for i in items[start : start + _CHUNK]]
            tables.append({"table": name, "items": encoded})
        return tables

    def _capture_s3(self) -> list[dict]:
        with _Locks(self._stripes):
            return [image for bucket in s3_state.bucket_names(self._account)
                    for image in s3_state.bucket_images(self._account, bucket, self.blobs)]

    def _capture_sqs(self) -> list[dict]:
        with hooks.SQS_LOCK:
            return [image for queue in sqs_state.queue_names(self._account, self._region)
                    for image in sqs_state.queue_images(self._account, self._region, queue)]

    def close(self) -> None:
        self._journaling = False
        hooks.activate(None)
        self.log.close()


class _Locks:
    """Several locks taken in a fixed order (no deadlock between two holders)."""

    def __init__(self, locks: list[threading.Lock]) -> None:
        self._locks = locks

    def __enter__(self) -> None:
        for lock in self._locks:
            lock.acquire()

    def __exit__(self, *exc: object) -> None:
        for lock in reversed(self._locks):
            lock.release()
