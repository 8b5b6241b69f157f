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

    def __init__(self, app: GatewayApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._socket = _bind(host, port)
        self.port = self._socket.getsockname()[1]
        loop = "uvloop" if _has("uvloop") else "asyncio"
        http = "httptools" if _has("httptools") else "h11"
        config = uvicorn.Config(
            app, loop=loop, http=http, lifespan="off", log_level="warning", access_log=False,
            server_header=False, date_header=False, timeout_keep_alive=30,
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


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
