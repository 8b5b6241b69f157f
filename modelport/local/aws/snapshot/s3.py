"""S3 buckets (versioning, notifications) to and from a snapshot, through the S3 API.

Objects are the journal's (`modelport.local.aws.journal.s3_state`: every version with its
id, metadata and checksum, its body a blob). `restore` still reads the objects of a
format-1 snapshot, written before the journal existed (they get new version ids).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from modelport.local.statefiles import BlobStore

_CHECKSUMS = ("ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC32C", "ChecksumCRC32", "ChecksumCRC64NVME")
_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")


def buckets(client: Any) -> list[dict]:
    """Every bucket's versioning status and notification configuration."""
    found = []
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        versioning = client.get_bucket_versioning(Bucket=name).get("Status")
        notification = client.get_bucket_notification_configuration(Bucket=name)
        notification.pop("ResponseMetadata", None)
        found.append({"name": name, "versioning": versioning, "notification": notification})
    return found


def restore_buckets(client: Any, buckets_: list[dict], region: str) -> None:
    """Buckets and versioning (objects come next, notifications last)."""
    for bucket in buckets_:
        _create(client, bucket, region)


def restore_notifications(client: Any, buckets_: list[dict]) -> None:
    for bucket in buckets_:
        if bucket.get("versioning") == "Suspended":
            client.put_bucket_versioning(Bucket=bucket["name"], VersioningConfiguration={"Status": "Suspended"})
        # Last, so replaying objects does not fire notifications (S3 sends a test event).
        if any(bucket.get("notification", {}).values()):
            client.put_bucket_notification_configuration(
                Bucket=bucket["name"], NotificationConfiguration=bucket["notification"]
            )


def _create(client: Any, bucket: dict, region: str) -> None:
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


def restore(client: Any, blobs: BlobStore, buckets_: list[dict], region: str) -> None:
    """A format-1 snapshot: buckets, then every object through PutObject, then notifications."""
    for bucket in buckets_:
        _create(client, bucket, region)
        name = bucket["name"]
        for obj in bucket.get("objects", []):
            if obj.get("delete_marker"):
                client.delete_object(Bucket=name, Key=obj["Key"])
                continue
            extra = {k: obj[k] for k in (*_HEADERS, *_CHECKSUMS) if k in obj}
            client.put_object(
                Bucket=name, Key=obj["Key"], Body=blobs.get(obj["blob"]),
                Metadata=obj.get("Metadata", {}), **extra,
            )
    restore_notifications(client, buckets_)
