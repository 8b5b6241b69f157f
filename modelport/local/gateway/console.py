"""The web console's static files, served by the local gateway at `/console/`.

On AWS the console is a static site (S3 behind CloudFront, infra/constructs/console.py);
here the gateway serves the same build (`console/dist`, made by `make console`) on the API's
own origin, so `connect-src 'self'` covers the API. Headers come from
`functions.console_site`, as CloudFront's response headers policy does. `config.json` is
made from the platform's settings, as the CDK app writes it next to the files on AWS.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import orjson

from functions.console_site import LOCAL_PREFIX, SECURITY_HEADERS, content_security_policy

#: the build made by `make console` (console/build.mjs)
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "console" / "dist"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".map": "application/json",
          ".json": "application/json", ".txt": "text/plain; charset=utf-8"}  # fmt: skip

Response = tuple[int, list[tuple[bytes, bytes]], bytes]


class ConsoleSite:
    """Answers GET/HEAD under `/console/`; `respond` returns None for any other path."""

    def __init__(self, dist: Path | None, config: dict[str, Any]) -> None:
        self.dist = (dist or DEFAULT_DIST).resolve()
        self._config = orjson.dumps(config)
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                         if k != "Strict-Transport-Security"]  # HSTS means nothing over http://127.0.0.1
        self._headers.append((b"content-security-policy", content_security_policy().encode()))

    def handles(self, path: str) -> bool:
        return path == LOCAL_PREFIX.rstrip("/") or path.startswith(LOCAL_PREFIX)

    def respond(self, method: str, path: str) -> Response | None:
        if not self.handles(path):
            return None
        if method not in ("GET", "HEAD"):
            return self._text(405, "the console's files are read-only", [(b"allow", b"GET, HEAD")])
        if path == LOCAL_PREFIX.rstrip("/"):
            return 308, [(b"location", LOCAL_PREFIX.encode())], b""
        name = path[len(LOCAL_PREFIX):] or "index.html"
        if name == "config.json":
            return self._ok(self._config, "application/json", cache=False, method=method)
        file = self._file(name)
        if file is None:
            if not (self.dist / "index.html").is_file():
                return self._text(503, "the console is not built: run `make console` (make demo and make test build it)")
            return self._text(404, f"no console file {name!r}")
        suffix = file.suffix
        media = _TYPES.get(suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return self._ok(file.read_bytes(), media, cache=suffix not in (".html",), method=method)

    def _file(self, name: str) -> Path | None:
        if "\\" in name or "\x00" in name:
            return None
        candidate = (self.dist / name).resolve()
        if candidate != self.dist and self.dist not in candidate.parents:
            return None  # `..` or a link out of the build
        return candidate if candidate.is_file() else None

    def _ok(self, body: bytes, media: str, *, cache: bool, method: str) -> Response:
        # The bundle's names do not change between builds, so browsers revalidate everything.
        headers = [(b"content-type", media.encode()), (b"cache-control", b"no-cache" if cache else b"no-store"),
                   *self._headers]
        return 200, headers, b"" if method == "HEAD" else body

    def _text(self, status: int, message: str, extra: list | None = None) -> Response:
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
                   *self._headers, *(extra or [])]
        return status, headers, message.encode()
