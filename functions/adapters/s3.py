"""S3 adapter: artifact locations, checksum-enforcing presigned uploads, verification."""

from __future__ import annotations

import base64
import hashlib
import tarfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from functions.core.ports import StoredObject, Upload


def hex_to_b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def b64_to_hex(value: str) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class S3Artifacts:
    """Implements `ArtifactStore`. The client must sign with SigV4 (`signature_version="s3v4"`)."""

    def __init__(self, client: Any, bucket: str, *, expires_in: int = 3600, clock: Callable[[], datetime]) -> None:
        self._s3 = client
        self._bucket = bucket
        self._expires_in = expires_in
        self._clock = clock

    def locate(self, model: str, version: str) -> str:
        return f"s3://{self._bucket}/models/{model}/{version}/model.tar.gz"

    def upload_url(self, uri: str, sha256: str, size: int) -> Upload:
        """A presigned PUT whose signature covers the checksum and length headers.

        S3 refuses the PUT unless the request carries exactly these headers, and refuses a
        body whose SHA-256 differs from `x-amz-checksum-sha256` (BadDigest).
        """
        bucket, key = split_uri(uri)
        checksum = hex_to_b64(sha256)
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ChecksumSHA256": checksum,
                "ChecksumAlgorithm": "SHA256",
                "ContentLength": size,
            },
            ExpiresIn=self._expires_in,
        )
        return Upload(
            url=url,
            headers={
                "x-amz-checksum-sha256": checksum,
                "x-amz-sdk-checksum-algorithm": "SHA256",
                "content-length": str(size),
                "content-type": "application/octet-stream",
            },
            expires_at=self._clock() + timedelta(seconds=self._expires_in),
        )

    def stat(self, uri: str) -> StoredObject | None:
        bucket, key = split_uri(uri)
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        return StoredObject(sha256=b64_to_hex(checksum) if checksum else None, size=head["ContentLength"])


# --- objects the workflows read and copy (issue 4) -----------------------------------------


class ObjectInfo(BaseModel):
    """One stored object: its SHA-256 (None without a full-object SHA-256 checksum), size,
    last modification and version id."""

    sha256: str | None
    size: int
    last_modified: datetime
    version_id: str | None = None


class ArchiveInfo(BaseModel):
    """A `model.tar.gz` read once: its SHA-256 and size, and the small files asked for."""

    sha256: str
    size: int
    files: dict[str, bytes]


class _Hashing:
    """A file-like reader that hashes and counts what passes through it."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._body.read(n) if n is not None and n >= 0 else self._body.read()
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class S3Objects:
    """Reads and server-side copies for the workflows (datasets, training output, artifacts)."""

    def __init__(self, client: Any) -> None:
        self._s3 = client

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            head = self._s3.head_object(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        return ObjectInfo(
            sha256=b64_to_hex(checksum) if checksum else None, size=head["ContentLength"],
            last_modified=head["LastModified"], version_id=head.get("VersionId"),
        )

    def read_archive(self, uri: str, names: tuple[str, ...], *, max_member_bytes: int = 1 << 20) -> ArchiveInfo:
        """Stream a tar.gz once: hash it whole and keep the members named `names` (top level).

        Raises ValueError when it is not a tar.gz or a wanted member is too large.
        """
        bucket, key = split_uri(uri)
        reader = _Hashing(self._s3.get_object(Bucket=bucket, Key=key)["Body"])
        files: dict[str, bytes] = {}
        try:
            with tarfile.open(fileobj=reader, mode="r|gz") as archive:
                for member in archive:
                    name = member.name.removeprefix("./")
                    if name in names and member.isfile():
                        if member.size > max_member_bytes:
                            raise ValueError(f"{name} in {uri} is larger than {max_member_bytes} bytes")
                        extracted = archive.extractfile(member)
                        files[name] = extracted.read() if extracted else b""
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ValueError(f"{uri} is not a readable tar.gz archive: {error}") from None
        while reader.read(1 << 20):
            pass  # the rest (tar padding) belongs to the object's hash too
        return ArchiveInfo(sha256=reader.digest.hexdigest(), size=reader.size, files=files)

    def copy(self, source_uri: str, target_uri: str) -> str | None:
        """Server-side copy (up to 5 GB) with a SHA-256 that S3 computes; returns it (hex)."""
        bucket, key = split_uri(target_uri)
        source_bucket, source_key = split_uri(source_uri)
        result = self._s3.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key},
            ChecksumAlgorithm="SHA256", MetadataDirective="COPY",
        )
        checksum = (result.get("CopyObjectResult") or {}).get("ChecksumSHA256")
        return b64_to_hex(checksum) if checksum else None
