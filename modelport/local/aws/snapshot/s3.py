"""S3 buckets (versioning, notifications, every object version with metadata and checksum).

Object bodies go to the content-addressed blob store; an object whose (key, version,
ETag, LastModified) did not change since the previous snapshot is not read again.
Restored objects get new version ids (S3 assigns them); their order, bodies, metadata
and checksums are kept.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from modelport.local.statefiles import BlobStore

_CHECKSUMS = ("ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC32C", "ChecksumCRC32", "ChecksumCRC64NVME")
_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")


def _cache_key(bucket: str, entry: dict) -> str:
    return "|".join(
        [bucket, entry["Key"], entry.get("VersionId") or "null", entry.get("ETag", ""),
         entry["LastModified"].isoformat()]
    )


def snapshot(client: Any, blobs: BlobStore, previous: list[dict]) -> list[dict]:
    cache = {
        obj["cache_key"]: obj
        for bucket in previous
        for obj in bucket.get("objects", [])
        if "cache_key" in obj and blobs.has(obj.get("blob", ""))
    }
    buckets = []
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        versioning = client.get_bucket_versioning(Bucket=name).get("Status")
        notification = client.get_bucket_notification_configuration(Bucket=name)
        notification.pop("ResponseMetadata", None)
        entries = _entries(client, name, versioned=versioning is not None)
        objects = []
        for entry in entries:
            if entry.get("DeleteMarker"):
                objects.append({"Key": entry["Key"], "delete_marker": True})
                continue
            key = _cache_key(name, entry)
            objects.append(cache.get(key) or _read(client, blobs, name, entry, key))
        buckets.append(
            {"name": name, "versioning": versioning, "notification": notification, "objects": objects}
        )
    return buckets


def _entries(client: Any, bucket: str, versioned: bool) -> list[dict]:
    """Every object version, oldest first, delete markers included."""
    if not versioned:
        return [
            obj
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for obj in page.get("Contents", [])
        ]
    entries: list[tuple[tuple, dict]] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for index, entry in enumerate(page.get(kind, [])):
                # S3 lists each key newest first, and LastModified has one-second
                # resolution: order by time, then latest last, then listing order reversed.
                order = (entry["Key"], entry["LastModified"], entry.get("IsLatest", False), -index)
                entries.append((order, {**entry, "DeleteMarker": marker}))
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


def _read(client: Any, blobs: BlobStore, bucket: str, entry: dict, cache_key: str) -> dict:
    version = {"VersionId": entry["VersionId"]} if entry.get("VersionId") not in (None, "null") else {}
    response = client.get_object(Bucket=bucket, Key=entry["Key"], ChecksumMode="ENABLED", **version)
    body = response["Body"].read()
    record: dict[str, Any] = {
        "Key": entry["Key"],
        "cache_key": cache_key,
        "blob": blobs.put(body),
        "Metadata": response.get("Metadata", {}),
    }
    for header in _HEADERS:
        if response.get(header):
            record[header] = response[header]
    for checksum in _CHECKSUMS:
        value = response.get(checksum)
        # A multipart upload's composite checksum ("...-N") cannot be replayed by a PUT.
        if value and "-" not in value:
            record[checksum] = value
            break
    return record


def restore(client: Any, blobs: BlobStore, buckets: list[dict], region: str) -> None:
    for bucket in buckets:
        name = bucket["name"]
        args: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**args)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if bucket.get("versioning"):
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for obj in bucket["objects"]:
            if obj.get("delete_marker"):
                client.delete_object(Bucket=name, Key=obj["Key"])
                continue
            extra = {k: obj[k] for k in (*_HEADERS, *_CHECKSUMS) if k in obj}
            client.put_object(
                Bucket=name, Key=obj["Key"], Body=blobs.get(obj["blob"]),
                Metadata=obj.get("Metadata", {}), **extra,
            )
        if bucket.get("versioning") == "Suspended":
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        # Last, so replaying objects does not fire notifications (S3 sends a test event).
        if any(bucket.get("notification", {}).values()):
            client.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=bucket["notification"]
            )


def blob_digests(buckets: list[dict]) -> set[str]:
    return {obj["blob"] for bucket in buckets for obj in bucket["objects"] if "blob" in obj}
