"""Signature Version 4, checked on every request to the embedded AWS port.

AWS refuses a request whose SigV4 signature does not verify against the caller's secret
access key; moto accepts anything. The embedded AWS has one per-run key pair
(`credentials.Credentials`), and `verify` recomputes the signature of each request the way
AWS documents it (and botocore computes it): the canonical request from the method, the
URI (S3 takes the path as sent; every other service normalises it and encodes it again),
the sorted query, the signed headers and the payload hash; the string to sign from the
time and credential scope; the HMAC chain of the secret over date, region and service.
Header (`Authorization: AWS4-HMAC-SHA256 ...`) and presigned (`X-Amz-Signature=...`)
requests are both accepted; SigV2 and unsigned requests are not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
#: how far a signed request's time may be from ours (AWS: RequestTimeTooSkewed past 15 minutes).
MAX_SKEW = timedelta(minutes=15)
#: the longest a presigned URL may be valid (SigV4: seven days).
MAX_EXPIRES = 7 * 24 * 3600
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class AuthFailure(Exception):
    """The request is not signed with the embedded AWS's key; `code` is AWS's error code."""

    def __init__(self, code: str, message: str, service: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.service = code, message, service


@dataclass(frozen=True)
class Signed:
    """What a verified request was signed for."""

    access_key_id: str
    region: str
    service: str
    presigned: bool


def verify(environ: dict, body: bytes, access_key_id: str, secret: str, now: datetime | None = None) -> Signed:
    """The signing scope of a correctly signed request; AuthFailure otherwise (never says
    which part of a bad signature differed, as AWS does not)."""
    now = now or datetime.now(UTC)
    query = environ.get("QUERY_STRING", "")
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    params = {k: v for k, _, v in pairs}
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "X-Amz-Signature" in params:
        presigned = True
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise AuthFailure("AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        credential = unquote(params.get("X-Amz-Credential", ""))
        signed_headers = unquote(params.get("X-Amz-SignedHeaders", ""))
        signature, stamp = params["X-Amz-Signature"], params.get("X-Amz-Date", "")
    elif authorization.startswith(ALGORITHM):
        presigned = False
        match = _AUTH.match(authorization.strip())
        if match is None:
            raise AuthFailure("IncompleteSignature", "the Authorization header is not a complete SigV4 signature")
        credential, signed_headers, signature = match["credential"], match["headers"], match["signature"]
        stamp = environ.get("HTTP_X_AMZ_DATE", "")
    elif "AWSAccessKeyId" in params or authorization.startswith("AWS "):
        raise AuthFailure("InvalidRequest", "Signature Version 2 is not supported (as on S3 since 2020): "
                          "sign with SigV4 (boto3: Config(signature_version='s3v4'))", "s3")
    else:
        raise AuthFailure("MissingAuthenticationToken" if not authorization else "InvalidSignatureException",
                          "requests to the embedded AWS must be signed (SigV4) with its key; "
                          "`modelport local aws-env` shows it")
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthFailure("IncompleteSignature", "the credential scope is not <key>/<date>/<region>/<service>/aws4_request")
    key_id, day, region, service, _ = parts
    service = service.lower()
    if not hmac.compare_digest(key_id, access_key_id):
        raise AuthFailure("InvalidAccessKeyId" if service == "s3" else "UnrecognizedClientException",
                          "the access key is not the embedded AWS's (`modelport local aws-env` shows it)", service)
    when = _time(stamp, service)
    if not stamp.startswith(day):
        raise AuthFailure("SignatureDoesNotMatch", "the credential scope's date is not the request's", service)
    if presigned:
        expires = int(params.get("X-Amz-Expires", "0") or 0)
        if not 1 <= expires <= MAX_EXPIRES:
            raise AuthFailure("AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800 seconds", service)
        if now > when + timedelta(seconds=expires):
            raise AuthFailure("AccessDenied", "Request has expired", service)
    elif abs(now - when) > MAX_SKEW:
        raise AuthFailure("RequestTimeTooSkewed", "the request's time is too far from the server's", service)
    payload = _payload_hash(environ, body, service, presigned)
    canonical = "\n".join((
        environ.get("REQUEST_METHOD", "GET"),
        _canonical_uri(environ, service),
        _canonical_query(pairs),
        _canonical_headers(environ, signed_headers),
        signed_headers,
        payload,
    ))  # fmt: skip
    scope = f"{day}/{region}/{parts[3]}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _signing_key(secret, day, region, parts[3])
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AuthFailure("SignatureDoesNotMatch" if service == "s3" else "InvalidSignatureException",
                          "the request signature does not match the one computed with the embedded AWS's key",
                          service)
    return Signed(access_key_id=key_id, region=region, service=service, presigned=presigned)


def _time(stamp: str, service: str) -> datetime:
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthFailure("AccessDenied" if service == "s3" else "IncompleteSignature",
                          "the request has no valid X-Amz-Date", service) from None


def _canonical_uri(environ: dict, service: str) -> str:
    raw = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))).split("?")[0]
    raw = raw or "/"
    if service == "s3":  # S3 signs the path as sent
        return raw
    return quote(normalize_url_path(raw), safe="/~")


def _canonical_query(pairs: list[tuple[str, str, str]]) -> str:
    kept = sorted((k, v) for k, _, v in pairs if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in kept)


def _header(environ: dict, name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE", "")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH", "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(value.split())


def _canonical_headers(environ: dict, signed: str) -> str:
    names = signed.split(";")
    if "host" not in names:
        raise AuthFailure("AccessDenied", "the Host header must be signed")
    return "".join(f"{name}:{_header(environ, name)}\n" for name in names)


def _payload_hash(environ: dict, body: bytes, service: str, presigned: bool) -> str:
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared is None:
        if presigned and service == "s3":
            return UNSIGNED
        return hashlib.sha256(body).hexdigest()
    if re.fullmatch(r"[0-9a-f]{64}", declared) and declared != hashlib.sha256(body).hexdigest():
        raise AuthFailure("XAmzContentSHA256Mismatch",
                          "the provided x-amz-content-sha256 header does not match what was computed", service)
    return declared


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
