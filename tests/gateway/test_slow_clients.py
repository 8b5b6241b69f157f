"""Slow and many clients at the local gateway (issue 10, lower finding "slow headers").

A connection that sent part of its headers stayed open for more than 70 s, and nothing
bounded how many connections the gateway holds. Headers must now arrive within
`gateway_header_timeout_s`, and past `gateway_max_connections` the gateway answers 503.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from modelport.local.gateway import GatewayApp, GatewayServer


def _refuse_everything(name, event):  # the routes below never reach a Lambda
    raise AssertionError("no Lambda should run")


@pytest.fixture
def server():
    started = GatewayServer(GatewayApp(_refuse_everything), "127.0.0.1", 0, header_timeout_s=0.5,
                            max_connections=4).start()
    yield started
    started.stop()


def closed_within(sock: socket.socket, seconds: float) -> float:
    sock.settimeout(seconds)
    began = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pytest.fail(f"the connection was still open after {seconds}s")
    return time.monotonic() - began


def test_a_connection_with_partial_headers_is_closed(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert closed_within(sock, 5) < 3
    with socket.create_connection(("127.0.0.1", server.port)) as silent:  # nothing at all
        assert closed_within(silent, 5) < 3


def test_a_keep_alive_connection_gets_the_same_limit_for_its_next_request(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 404")
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: 12")
        assert closed_within(sock, 5) < 3


def test_complete_requests_are_served_and_the_connection_cap_holds(server):
    assert httpx.get(f"{server.url}/nope").status_code == 404
    hogs = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
    try:
        for hog in hogs:
            hog.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.1)
        assert httpx.get(f"{server.url}/nope").status_code == 503
    finally:
        for hog in hogs:
            hog.close()
    time.sleep(0.2)
    assert httpx.get(f"{server.url}/nope").status_code == 404
