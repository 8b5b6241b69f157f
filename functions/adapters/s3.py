"""S3 adapter: artifact locations, checksum-enforcing presigned uploads, verification."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any, Callable

from botocore.exceptions import ClientError

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
