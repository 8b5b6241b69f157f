"""Adaptive batching: concurrent requests are predicted together, in order, failing alone."""

from __future__ import annotations

import asyncio

import httpx
import pytest


@pytest.fixture(scope="module")
def batching(serve, artifacts, tmp_path_factory):
    log = tmp_path_factory.mktemp("batches") / "sizes.txt"
    server = serve(artifacts("custom"), MODELPORT_MAX_BATCH_SIZE="64", MODELPORT_MAX_LATENCY_MS="50",
                   PREDICTOR_LOG=str(log), PREDICTOR_SLEEP="0.02").wait()
    return server, log


async def _fire(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 limits=httpx.Limits(max_connections=len(bodies))) as client:
        return await asyncio.gather(*(client.post("/invocations", json=b) for b in bodies))


def test_results_in_order_and_batched(batching):
    server, log = batching
    log.write_text("")
    # Request i sends (i % 3) + 1 rows whose x values are unique to it.
    bodies = [{"instances": [[i * 10.0 + j, 0.0] for j in range(i % 3 + 1)]} for i in range(48)]
    responses = asyncio.run(_fire(server.url, bodies))
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [2 * (i * 10.0 + j) for j in range(i % 3 + 1)]}
    sizes = [int(s) for s in log.read_text().split()]
    assert sum(sizes) == sum(i % 3 + 1 for i in range(48))
    assert max(sizes) > 3, f"no request was batched with another: {sizes}"


def test_bad_request_fails_alone(batching):
    server, _ = batching
    bodies = [{"instances": [[float(i), 1.0]]} for i in range(20)]
    bodies[7] = {"instances": [[-999.0, 1.0]]}  # the predictor raises on this row
    responses = asyncio.run(_fire(server.url, bodies))
    assert responses[7].status_code == 500
    assert responses[7].json()["error"]["code"] == "prediction_failed"
    for i, response in enumerate(responses):
        if i != 7:
            assert response.status_code == 200 and response.json() == {"predictions": [2.0 * i]}


def test_invalid_input_never_enters_a_batch(batching):
    server, _ = batching
    bodies = [{"instances": [[1.0, 2.0]]}, {"instances": [[1.0]]}, {"instances": [[3.0, 4.0]]}]
    responses = asyncio.run(_fire(server.url, bodies))
    assert [r.status_code for r in responses] == [200, 400, 200]
    assert responses[2].json() == {"predictions": [6.0]}
