"""Presigned uploads (artifacts, datasets): a PUT with exactly the headers the API signed.

The object store checks `x-amz-checksum-sha256` against the bytes it receives, so a
corrupted upload is refused rather than stored. The API key is never sent here: the URL
carries its own signature, and the request goes to the object store, not to the API.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from functions.core.ports import Upload
from modelport.client.errors import TransportError, UploadError

Progress = Callable[[int, int], None]
CHUNK = 1 << 20
_S3_CODE = re.compile(r"<Code>([^<]+)</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]+)</Message>")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def put_file(
    upload: Upload,
    path: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 300.0,
    attempts: int = 3,
    http_transport: httpx.BaseTransport | None = None,
) -> None:
    """PUT `path` to `upload.url` with `upload.headers`, reporting `progress(sent, total)`."""
    total = path.stat().st_size
    with httpx.Client(timeout=timeout, transport=http_transport) as http:
        for attempt in range(attempts):
            try:
                response = http.request(
                    upload.method, upload.url, headers=upload.headers, content=_chunks(path, total, progress)
                )
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise TransportError(f"cannot reach the object store: {exc}", code="Unreachable") from None
            if response.status_code < 300:
                return
            if response.status_code >= 500 and attempt + 1 < attempts:
                time.sleep(0.2 * 2**attempt)
                continue
            code = _first(_S3_CODE, response.text) or f"HTTP{response.status_code}"
            message = _first(_S3_MESSAGE, response.text) or "the object store refused the upload"
            raise UploadError(f"upload refused: {code}: {message}", code=code, status=response.status_code)


def _chunks(path: Path, total: int, progress: Progress | None) -> Iterator[bytes]:
    sent = 0
    if progress:
        progress(0, total)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            yield chunk
            sent += len(chunk)
            if progress:
                progress(sent, total)


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text or "")
    return found.group(1) if found else None
