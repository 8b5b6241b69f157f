"""A threaded loopback WSGI server in a background thread (werkzeug's, quiet)."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


class PortInUse(RuntimeError):
    """The configured port is taken by another process."""


class _QuietHandler(MotoRequestHandler):
    """moto's handler (keeps S3 metadata headers with underscores), logging at debug level.

    Declaring `protocol_version` here keeps werkzeug from setting it on moto's class.
    """

    protocol_version = "HTTP/1.1"

    def log(self, type: str, message: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), message % args)


class ServerThread:
    """Serves one WSGI app on `host:port` (0 picks a free port) until `stop()`."""

    def __init__(self, app: Callable, host: str, port: int, name: str) -> None:
        # Bind here: werkzeug reports a busy port by printing and exiting the process.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            self._server: BaseWSGIServer = make_server(
                host, port, app, threaded=True, request_handler=_QuietHandler, fd=sock.fileno()
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"{name}: port {port} on {host} is already in use; stop what uses it "
                    "or configure another port"
                ) from exc
            raise
        finally:
            sock.close()  # the server holds its own duplicate of the socket
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"{name}-http", daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
