"""S3 object checksums the way S3 handles them, in front of moto.

S3 verifies the data of every upload (`PutObject`, presigned or not, with any query
parameters, and each `UploadPart` of a multipart upload) against the checksum it carries —
an `x-amz-checksum-<algorithm>` header, the same value as a trailer of an `aws-chunked`
body, or `Content-MD5` — answers `BadDigest` (400) when they differ, `InvalidDigest` when
the value is not base64 of the right length, and keeps the checksum with the object.
moto 5.2 verifies none of it and stores the checksum only when the algorithm is also named
in `x-amz-sdk-checksum-algorithm`. The front calls `check_upload` for every S3 request
(the signing service comes from the verified signature, `guard.SERVICE_KEY`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zlib
from urllib.parse import parse_qs

from werkzeug.wrappers import Response

_ALGORITHMS = ("sha256", "sha1", "crc32", "crc32c", "crc64nvme")
#: object sub-resources whose PUT body is configuration, not object data
_CONFIGURATION = frozenset({"acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select",
                            "attributes", "renameObject"})
_LENGTHS = {"sha256": 32, "sha1": 20, "crc32": 4, "crc32c": 4, "crc64nvme": 8, "md5": 16}


def is_s3_upload(environ: dict) -> bool:
    """A request that uploads object data: a PUT on an object (PutObject, UploadPart), not a
    copy and not a sub-resource (`?tagging`, `?acl`, ...) whose body is configuration."""
    from modelport.local.aws.guard import SERVICE_KEY

    if environ.get(SERVICE_KEY) != "s3" or environ.get("REQUEST_METHOD") != "PUT":
        return False
    if environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return False
    path = environ.get("PATH_INFO", "").lstrip("/")
    if "/" not in path.rstrip("/"):
        return False  # a bucket-level PUT (CreateBucket, ?versioning, ...)
    names = set(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    # S3 ignores query parameters it does not know: a PUT without one of these is a PutObject
    return not names & _CONFIGURATION


def check_upload(environ: dict) -> Response | None:
    """BadDigest / InvalidDigest when a declared checksum does not match the data; else keep
    the checksum for moto to store, and let the request through."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    data, trailers = body, {}
    if "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", ""):
        decoded = _decode_chunked(body)
        if decoded is None:
            return _error("IncompleteBody", "The aws-chunked body could not be decoded.")
        data, trailers = decoded
    query = {k.lower(): v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    declared = {}
    for algorithm in _ALGORITHMS:
        name = f"x-amz-checksum-{algorithm}"
        value = environ.get(f"HTTP_{name.upper().replace('-', '_')}") or query.get(name) or trailers.get(name)
        if value:
            declared[algorithm] = value.strip()
    md5 = environ.get("HTTP_CONTENT_MD5")
    if md5:
        declared["md5"] = md5.strip()
    for algorithm, value in declared.items():
        if not _well_formed(algorithm, value):
            return _error("InvalidDigest", f"The {_label(algorithm)} you specified was invalid.")
        actual = _checksum(algorithm, data)
        if actual is not None and actual != value:
            return _error("BadDigest", f"The {_label(algorithm)} you specified did not match the calculated checksum.")
    flexible = [a for a in declared if a != "md5"]
    if flexible:  # what moto needs to store the checksum with the object
        algorithm = flexible[0]
        environ.setdefault("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", algorithm.upper())
        if not trailers:
            environ.setdefault(f"HTTP_X_AMZ_CHECKSUM_{algorithm.upper()}", declared[algorithm])
    return None


def _decode_chunked(body: bytes) -> tuple[bytes, dict[str, str]] | None:
    """(data, trailers) of an `aws-chunked` body: `<hex size>[;chunk-signature=..]\\r\\n<data>\\r\\n`
    chunks, a zero-size chunk, then `name:value` trailer lines."""
    data, rest = bytearray(), body
    while True:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            return None
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            return None
        if size == 0:
            break
        if len(rest) < size + 2 or rest[size:size + 2] != b"\r\n":
            return None
        data += rest[:size]
        rest = rest[size + 2:]
    trailers = {}
    for raw in rest.split(b"\r\n"):
        name, colon, value = raw.decode("latin-1").partition(":")
        if colon:
            trailers[name.strip().lower()] = value.strip()
    return bytes(data), trailers


def _well_formed(algorithm: str, value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == _LENGTHS[algorithm]
    except (binascii.Error, ValueError):
        return False


def _label(algorithm: str) -> str:
    return "Content-MD5" if algorithm == "md5" else algorithm.upper()


def _checksum(algorithm: str, body: bytes) -> str | None:
    if algorithm == "sha256":
        digest = hashlib.sha256(body).digest()
    elif algorithm == "sha1":
        digest = hashlib.sha1(body).digest()
    elif algorithm == "md5":
        digest = hashlib.md5(body).digest()
    elif algorithm == "crc32":
        digest = zlib.crc32(body).to_bytes(4, "big")
    else:
        return None  # crc32c / crc64nvme: no implementation in the standard library; stored as given
    return base64.b64encode(digest).decode()


def _error(code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status=400, content_type="application/xml")
