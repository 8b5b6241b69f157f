"""S3 object checksums the way S3 handles them, in front of moto.

S3 verifies a `PutObject` body against the `x-amz-checksum-<algorithm>` header it carries
(`BadDigest` when they differ) and stores that checksum with the object. moto 5.2 does
neither unless the request also names the algorithm in `x-amz-sdk-checksum-algorithm`
(which boto3 only sends with `ChecksumAlgorithm=`), so an upload with only
`ChecksumSHA256=` (or a presigned PUT with the header) would be stored without it, and a
corrupted upload would be accepted. The front calls `check_put` for S3 PUTs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from urllib.parse import parse_qs

from werkzeug.wrappers import Response

_ALGORITHMS = ("sha256", "sha1", "crc32", "crc32c", "crc64nvme")


def is_s3_put_object(environ: dict) -> bool:
    """A PutObject: an S3-signed PUT with no sub-resource (tagging, acl, part uploads...)."""
    if environ.get("REQUEST_METHOD") != "PUT" or environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return False
    query = environ.get("QUERY_STRING", "")
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    names = parse_qs(query, keep_blank_values=True)
    signed_for_s3 = (
        "/s3/aws4_request" in authorization or "%2Fs3%2Faws4_request" in query  # SigV4
        or authorization.startswith("AWS ") or "AWSAccessKeyId" in names  # SigV2: only S3
    )
    # Presigned URLs carry signing parameters; anything else names a sub-resource.
    presign = {"AWSAccessKeyId", "Signature", "Expires", "versionId"}
    return signed_for_s3 and all(n.lower().startswith("x-amz-") or n in presign for n in names)


def check_put(environ: dict) -> Response | None:
    """BadDigest when a declared SHA-256/SHA-1/CRC32 does not match; else let moto store it."""
    if "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", ""):
        return None  # streaming uploads carry the checksum in a trailer moto reads itself
    query = {k.lower(): v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    declared = {
        algorithm: environ.get(f"HTTP_X_AMZ_CHECKSUM_{algorithm.upper()}")
        or query.get(f"x-amz-checksum-{algorithm}")
        for algorithm in _ALGORITHMS
    }
    declared = {k: v for k, v in declared.items() if v}
    if not declared:
        return None
    algorithm, value = next(iter(declared.items()))
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    actual = _checksum(algorithm, body)
    if actual is not None and actual != value:
        return _bad_digest(algorithm)
    environ.setdefault("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", algorithm.upper())
    environ.setdefault(f"HTTP_X_AMZ_CHECKSUM_{algorithm.upper()}", value)
    return None


def _checksum(algorithm: str, body: bytes) -> str | None:
    if algorithm == "sha256":
        digest = hashlib.sha256(body).digest()
    elif algorithm == "sha1":
        digest = hashlib.sha1(body).digest()
    elif algorithm == "crc32":
        digest = zlib.crc32(body).to_bytes(4, "big")
    else:
        return None  # crc32c / crc64nvme: stored as given, not verified locally
    return base64.b64encode(digest).decode()


def _bad_digest(algorithm: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code>'
        f"<Message>The {algorithm.upper()} you specified did not match the calculated "
        "checksum.</Message></Error>"
    )
    return Response(body, status=400, content_type="application/xml")
