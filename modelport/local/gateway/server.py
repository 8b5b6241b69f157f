"""Serve the gateway with uvicorn (httptools, uvloop) in a background thread."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time

import uvicorn

from modelport.local.gateway.app import GatewayApp

log = logging.getLogger(__name__)


class GatewayPortInUse(RuntimeError):
    """The gateway's port is taken."""


class GatewayServer:
    """`start()` binds `host:port` (0 picks a free port) and serves until `stop()`."""

    def __init__(self, app: GatewayApp, host: str = "127.0.0.1", port: int = 0, *,
                 header_timeout_s: float = 10.0, max_connections: int = 1024) -> None:
        """`header_timeout_s`: a request's headers must all arrive within it (a connection
        that sends part of them, or nothing, is closed); `max_connections`: past that many
        connections and requests in flight, the gateway answers 503 (uvicorn's
        `limit_concurrency`)."""
        self.app = app
        self.host = host
        self._socket = _bind(host, port)
        self.port = self._socket.getsockname()[1]
        loop = "uvloop" if _has("uvloop") else "asyncio"
        if not _has("httptools"):
            raise RuntimeError("the local gateway needs httptools (its header timeout is built on it)")
        config = uvicorn.Config(
            app, loop=loop, http=_one_write_protocol(header_timeout_s), lifespan="off", log_level="warning",
            access_log=False, server_header=False, date_header=False, timeout_keep_alive=30,
            limit_concurrency=max_connections,
            proxy_headers=False,  # loopback only: no proxy in front whose headers to trust
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> GatewayServer:
        self._thread = threading.Thread(target=self._serve, name="gateway-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start on {self.url}")
            time.sleep(0.005)
        return self

    def _serve(self) -> None:
        # Server.serve() installs no signal handlers outside the main thread: Ctrl-C stays
        # with the composition root, which stops this server.
        serving = self._server.serve(sockets=[self._socket])
        if _has("uvloop"):
            import uvloop

            uvloop.run(serving)
        else:
            asyncio.run(serving)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._socket.close()
        self.app.close()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GatewayPortInUse(f"gateway: port {port} on {host} is already in use; choose another port") from None
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _CoalescedWrites:
    """A transport whose writes of one loop turn go out as one `send`.

    uvicorn writes a response's head and its body separately; on the inference path (a
    small JSON body) that was two system calls per request, made while holding the GIL
    that the embedded AWS's threads share: half of the gateway's GIL time under load.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


def _one_write_protocol(header_timeout_s: float) -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class OneWriteProtocol(HttpToolsProtocol):
        """httptools' protocol, with coalesced writes and a header-read timeout: uvicorn has
        none, so a client that sends part of its headers (slowloris) held a connection for
        as long as it liked. The timer runs from the connection (or the first byte of the
        next request on a kept-alive one) until the headers are complete."""

        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = _CoalescedWrites(transport)  # type: ignore[assignment]
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return OneWriteProtocol


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
