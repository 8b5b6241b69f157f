"""S3 keys as after-images: every version of one key (delete markers included), each a
reference to a content-addressed blob that was fsynced before the version existed.

An image is `{"t": "s3", "bucket": b, "key": k, "versions": [version, ...]}` (empty: the
key is gone). Object bodies never enter the journal, only their blob digests, so a 1 GB
artifact costs one write of its bytes to the blob store and a few hundred bytes of
journal. Versions keep their ids, ETags and times across restarts.

Bodies larger than `LARGE` are served by moto from the blob file itself (a reader that
opens it per read), instead of a second copy in moto's temporary files.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from modelport.local.statefiles import BlobStore

log = logging.getLogger(__name__)

#: bodies above this are read from the blob file rather than kept in moto's buffers
LARGE = 1 << 20
_FIELDS = (
    "encryption", "kms_key_id", "bucket_key_enabled", "lock_mode", "lock_legal_status", "lock_until",
    "checksum_value", "checksum_type", "checksum_parts", "checksum_algorithm", "website_redirect_location",
)  # fmt: skip
BLOB_ATTR = "_modelport_blob"


def backend(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


class BlobReader:
    """A read-only stand-in for moto's per-key buffer, backed by a blob file.

    moto only seeks to 0 and reads (all, or in chunks), and closes; opening the file per
    read keeps no descriptor per object open.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._position = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise ValueError("blob readers only seek from the start")
        self._position = offset
        return offset

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        with open(self._path, "rb") as handle:
            handle.seek(self._position)
            data = handle.read() if size is None or size < 0 else handle.read(size)
        self._position += len(data)
        return data

    def close(self) -> None:
        return None

    def truncate(self, size: int | None = None) -> int:
        raise OSError("this object's body is a journaled blob and cannot be changed in place")

    def write(self, data: bytes) -> int:
        raise OSError("this object's body is a journaled blob and cannot be changed in place")


def attach_blob(key: Any, blobs: BlobStore, digest: str, size: int) -> None:
    """Remember `key`'s blob; serve a large body from it and drop moto's copy."""
    setattr(key, BLOB_ATTR, digest)
    if size <= LARGE:
        return
    lock = getattr(key, "lock", None) or threading.Lock()
    with lock:
        previous = key._value_buffer
        key._value_buffer = BlobReader(blobs.path(digest))
        key.contentsize = size
    try:
        previous.close()  # only frees moto's copy
    except Exception:
        log.debug("closing moto's buffer of %s failed", key.name, exc_info=True)


def blob_of(key: Any, blobs: BlobStore) -> str:
    """The key's blob digest, writing one from moto's copy when it has none yet."""
    digest = getattr(key, BLOB_ATTR, None)
    if digest is None or not blobs.has(digest):
        digest = blobs.put(key.value)
        attach_blob(key, blobs, digest, key.contentsize)
    return digest


def _version(key: Any, blobs: BlobStore) -> dict:
    from moto.s3.models import FakeDeleteMarker

    if isinstance(key, FakeDeleteMarker):
        return {"marker": True, "version_id": key._version_id, "last_modified": key.last_modified.isoformat()}
    record: dict[str, Any] = {
        "version_id": key._version_id,
        "blob": blob_of(key, blobs),
        "size": key.contentsize,
        "etag": key.etag.strip('"'),
        "last_modified": key.last_modified.isoformat(),
        "metadata": dict(key.metadata.items()),
        "storage": key._storage_class,
        "versioned": key._is_versioned,
        "tags": backend(key.account_id).tagger.get_tag_dict_for_resource(key.arn),
    }
    record.update({name: getattr(key, name, None) for name in _FIELDS if getattr(key, name, None) is not None})
    return record


def image(account: str, bucket_name: str, key_name: str, blobs: BlobStore) -> dict:
    bucket = backend(account).buckets.get(bucket_name)
    versions = bucket.keys.getlist(key_name, []) if bucket is not None else []
    return {"t": "s3", "bucket": bucket_name, "key": key_name, "versions": [_version(v, blobs) for v in versions]}


def bucket_images(account: str, bucket_name: str, blobs: BlobStore) -> list[dict]:
    bucket = backend(account).buckets.get(bucket_name)
    if bucket is None:
        return []
    return [image(account, bucket_name, name, blobs) for name in list(bucket.keys.keys())]


def bucket_names(account: str) -> list[str]:
    return list(backend(account).buckets)


def referenced_blobs(entry: dict) -> set[str]:
    return {v["blob"] for v in entry.get("versions", []) if "blob" in v}


def apply(account: str, region: str, entry: dict, blobs: BlobStore) -> None:
    from moto.s3.models import FakeDeleteMarker, FakeKey
    from moto.utilities.utils import LowercaseDict

    s3 = backend(account)
    bucket = s3.buckets.get(entry["bucket"])
    if bucket is None:
        log.warning("journal: bucket %s did not exist when its key %s was replayed; created",
                    entry["bucket"], entry["key"])
        bucket = s3.create_bucket(entry["bucket"], region)
    name, versions = entry["key"], []
    for record in entry["versions"]:
        if record.get("marker"):
            hidden = next((v for v in reversed(versions) if isinstance(v, FakeKey)), None)
            marker = FakeDeleteMarker(hidden or FakeKey(name, b"", account, region, bucket_name=entry["bucket"]))
            marker._version_id = record["version_id"]
            marker.last_modified = datetime.fromisoformat(record["last_modified"])
            versions.append(marker)
            continue
        large = record["size"] > LARGE
        key = FakeKey(
            name, b"" if large else blobs.get(record["blob"]), account, region,
            storage=record.get("storage"), etag=record["etag"], is_versioned=record.get("versioned", False),
            version_id=record["version_id"], bucket_name=entry["bucket"],
            **{k: record[k] for k in _FIELDS if k in record and k not in ("checksum_algorithm", "website_redirect_location")},
        )
        key.last_modified = datetime.fromisoformat(record["last_modified"])
        key._metadata = LowercaseDict(record.get("metadata") or {})
        key.checksum_algorithm = record.get("checksum_algorithm")
        key.website_redirect_location = record.get("website_redirect_location")
        attach_blob(key, blobs, record["blob"], record["size"])
        if record.get("tags"):
            s3.tagger.tag_resource(key.arn, [{"Key": k, "Value": v} for k, v in record["tags"].items()])
        versions.append(key)
    if versions:
        bucket.keys.setlist(name, versions)
    elif name in bucket.keys:
        bucket.keys.pop(name)
