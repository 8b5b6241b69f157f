"""A small asyncio HTTP/1.1 client for the gateway's direct path to endpoint instances.

The local gateway serves on an event loop in the same process as the embedded AWS. Its
inference path used to hand every request to a thread pool for a blocking urllib3 call:
two GIL handoffs per request (a thread waiting for the GIL waits up to the 5 ms switch
interval while another holds it) and http.client's pure-Python header parsing. Profiled
at 8 connections, that capped the gateway at a fraction of the endpoint's own throughput
and added ~3 ms at p50. Here the request is written and the response parsed (httptools,
C) on the loop itself, over kept-alive connections: no thread, no handoff.
"""

from __future__ import annotations

import asyncio
import collections

try:
    import httptools
except ImportError:  # installed with the serving extra; without it the gateway uses threads
    httptools = None

#: whether this client can be used here
AVAILABLE = httptools is not None


class NotSent(ConnectionError):
    """No connection could be made: the request never reached the instance."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.closed = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"invalid HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("the instance closed the connection"))

    # -- httptools callbacks --------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            keep = self.parser.should_keep_alive()
            waiter.set_result((self.parser.get_status_code(), self._headers, b"".join(self._body), keep))

    # -- use ------------------------------------------------------------------------------
    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, data: bytes) -> asyncio.Future:
        assert self.transport is not None
        self._headers, self._body = [], []
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class AsyncPool:
    """Kept-alive connections to one `host:port`, used from one event loop."""

    def __init__(self, host: str, port: int, *, read_timeout_s: float, max_idle: int = 64) -> None:
        self.host, self.port = host, port
        self._timeout = read_timeout_s
        self._idle: collections.deque[_Connection] = collections.deque()
        self._max_idle = max_idle
        self._closed = False
        self.loop: asyncio.AbstractEventLoop | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """POST; (status, headers by lower-case name, body). Raises NotSent when no
        connection could be made, ConnectionError or TimeoutError after sending."""
        self.loop = asyncio.get_running_loop()
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for fresh in (False, True):
            connection = None if fresh else self._take()
            if connection is None:
                connection = await self._connect()
            try:
                status, raw, content, keep = await asyncio.wait_for(connection.send(data), self._timeout)
            except ConnectionError:
                connection.close()
                if not fresh:
                    continue  # a kept-alive connection the instance had closed: once more, on a new one
                raise
            except TimeoutError:
                connection.close()
                raise TimeoutError(f"no answer within {self._timeout:g}s") from None
            if keep and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
            else:
                connection.close()
            return status, {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}, content
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self) -> _Connection:
        if self._closed:
            raise NotSent("the instance is stopping")
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), 2.0)
        except (OSError, TimeoutError) as exc:
            raise NotSent(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        return connection

    def close(self) -> None:
        """Close the idle connections (from any thread: on the loop that uses the pool)."""
        self._closed = True
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._close_idle)
        except RuntimeError:  # the loop stopped meanwhile
            pass

    def _close_idle(self) -> None:
        while self._idle:
            self._idle.pop().close()
