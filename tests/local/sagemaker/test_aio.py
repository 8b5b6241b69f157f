"""The gateway's event-loop client to endpoint instances (`modelport.local.sagemaker.aio`)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from modelport.local.sagemaker.aio import AsyncPool, NotSent


async def serve(handler) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return await reader.readexactly(length)


def test_requests_reuse_a_kept_alive_connection_and_keep_headers():
    connections = []

    async def handler(reader, writer):
        connections.append(writer)
        while True:
            try:
                body = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            answer = b'{"echo":' + body + b"}"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amzn-SageMaker-Custom-Attributes: a=1\r\n"
                         b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer)
            await writer.drain()

    async def main():
        server, port = await serve(handler)
        pool = AsyncPool("127.0.0.1", port, read_timeout_s=5)
        answers = [await pool.post("/invocations", b"[%d]" % i, {"Content-Type": "application/json"}) for i in range(3)]
        server.close()
        return answers

    answers = asyncio.run(main())
    assert [a[2] for a in answers] == [b'{"echo":[0]}', b'{"echo":[1]}', b'{"echo":[2]}']
    assert answers[0][0] == 200 and answers[0][1]["x-amzn-sagemaker-custom-attributes"] == "a=1"
    assert len(connections) == 1


def test_a_connection_the_instance_closed_is_replaced_once():
    served = []

    async def handler(reader, writer):
        body = await read_request(reader)
        served.append(body)
        # answers and closes (Connection: close), as a worker restarting would
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def main():
        server, port = await serve(handler)
        pool = AsyncPool("127.0.0.1", port, read_timeout_s=5)
        first = await pool.post("/invocations", b"1", {})
        second = await pool.post("/invocations", b"2", {})
        server.close()
        return first, second

    first, second = asyncio.run(main())
    assert (first[0], first[2], second[2]) == (200, b"ok", b"ok") and served == [b"1", b"2"]


def test_nothing_listening_is_not_sent_and_silence_times_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    async def silent(reader, writer):
        await asyncio.sleep(5)

    async def main():
        with pytest.raises(NotSent):
            await AsyncPool("127.0.0.1", closed_port, read_timeout_s=1).post("/invocations", b"x", {})
        server, port = await serve(silent)
        with pytest.raises(TimeoutError):
            await AsyncPool("127.0.0.1", port, read_timeout_s=0.3).post("/invocations", b"x", {})
        server.close()

    asyncio.run(main())
