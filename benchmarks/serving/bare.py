"""Reference (b): the bare ASGI loop, the practical limit for one Python worker.

It parses JSON, calls ``predict`` and writes JSON, on the same uvicorn + uvloop + httptools
+ orjson stack as Modelport's server, with no validation, routing or error handling.
Run: ``BENCH_MODEL=<model.skops> uvicorn benchmarks.serving.bare:app --loop uvloop --http httptools``.
"""

from __future__ import annotations

import os

import numpy as np
import orjson
import skops.io as sio

_path = os.environ["BENCH_MODEL"]  # benchmark-only script, not a deployable: no settings class
_model = sio.load(_path, trusted=sio.get_untrusted_types(file=_path))
_HEADERS = [(b"content-type", b"application/json")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        return
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    if scope["path"] == "/ping":
        out = b"{}"
    else:
        rows = np.asarray(orjson.loads(body)["instances"], dtype=np.float64)
        out = orjson.dumps({"predictions": _model.predict(rows)}, option=orjson.OPT_SERIALIZE_NUMPY)
    await send({"type": "http.response.start", "status": 200,
                "headers": _HEADERS + [(b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})
