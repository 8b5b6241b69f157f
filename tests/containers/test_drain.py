"""SIGTERM: the request in flight completes, then the server exits."""

from __future__ import annotations

import signal
import threading
import time

import httpx


def test_sigterm_drains_in_flight_request(serve, artifacts):
    server = serve(artifacts("custom"), PREDICTOR_SLEEP="1.0", MODELPORT_GRACEFUL_TIMEOUT_S="20").wait()
    result = {}

    def call():
        try:
            result["response"] = httpx.post(server.url + "/invocations", json={"instances": [[4.0, 0.0]]}, timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    caller = threading.Thread(target=call)
    started = time.monotonic()
    caller.start()
    time.sleep(0.4)  # the request is now inside predict (which sleeps 1 s)
    server.proc.send_signal(signal.SIGTERM)
    caller.join(timeout=30)
    assert "error" not in result, result.get("error")
    assert result["response"].status_code == 200
    assert result["response"].json() == {"predictions": [8.0]}
    # uvicorn re-raises the SIGTERM it caught once shutdown is complete, so the exit
    # status says "terminated by SIGTERM" (as for any process stopped that way).
    assert server.proc.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "Finished server process" in server.logs()
    assert time.monotonic() - started >= 1.0
    try:
        httpx.get(server.url + "/ping", timeout=2)
        raise AssertionError("server still accepts connections after draining")
    except httpx.TransportError:
        pass


def test_workers_from_environment(serve, artifacts):
    server = serve(artifacts("custom"), MODELPORT_WORKERS="2").wait()
    deadline = time.monotonic() + 60
    while server.logs().count("model ready") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.logs().count("model ready") == 2, server.logs()
    with server.client() as http:
        for i in range(6):
            assert http.post("/invocations", json={"instances": [[float(i), 0.0]]}).json() == {
                "predictions": [2.0 * i]}
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) in (0, -signal.SIGTERM)


def test_ping_is_503_until_the_model_is_loaded(serve, artifacts):
    server = serve(artifacts("custom"), PREDICTOR_LOAD_SLEEP="3")
    deadline = time.monotonic() + 60
    first = None
    while first is None and time.monotonic() < deadline:
        try:
            first = httpx.get(server.url + "/ping", timeout=2)
        except httpx.TransportError:
            time.sleep(0.05)
    assert first is not None and first.status_code == 503
    assert httpx.get(server.url + "/v2/health/live").status_code == 200
    assert httpx.get(server.url + "/v2/models/model/ready").status_code == 503
    server.wait()
    assert httpx.get(server.url + "/ping").status_code == 200
