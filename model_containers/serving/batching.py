"""Adaptive batching, in the server's own event loop.

Requests that arrive while others are being decoded are predicted together: one
``predict`` call on many rows costs about what it costs on one row for most tabular
models, so amortising it is where the throughput comes from. The batcher runs on the
event loop itself (no thread hop per request). The server counts requests that have
started but not yet reached the batcher (``arriving``: their bodies are still being read
or decoded). One loop iteration after the first request queues, the batch is flushed as
soon as nothing is arriving, when ``max_batch_size`` rows are queued, or when the oldest
request has waited ``max_latency_ms``. Every request read in the same I/O poll is
therefore batched together, while a lone request pays a single loop iteration.

Results come back in submission order. If a combined batch fails, its requests are
predicted one by one, so one bad request fails alone. A request may name a ``method``
(labels, probabilities, both): only requests that want the same are predicted together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from model_containers.runtimes import Batch, Prediction

log = logging.getLogger(__name__)


def rows_of(batch: Batch) -> int:
    if isinstance(batch, dict):
        return len(next(iter(batch.values()))) if batch else 0
    return len(batch)


def concat(batches: list[Batch]) -> Batch:
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in first}
    return np.concatenate(batches)


def take(pred: Prediction, start: int, stop: int) -> Prediction:
    if isinstance(pred, dict):
        return {k: v[start:stop] for k, v in pred.items()}
    return pred[start:stop]


class AdaptiveBatcher:
    """Queues batches from concurrent requests and predicts them together."""

    def __init__(self, predict: Callable[[Batch], Prediction], *, max_batch_size: int,
                 max_latency_ms: float, loop: asyncio.AbstractEventLoop) -> None:
        self._predict = predict
        self._max_rows = max_batch_size
        self._max_wait = max_latency_ms / 1000.0
        self._loop = loop
        self._queue: list[tuple[Batch, int, asyncio.Future, str | None]] = []
        self._rows = 0
        self._scheduled = False
        self._first_at = 0.0
        #: requests started (headers read) that have not reached submit() yet
        self.arriving = 0

    async def submit(self, batch: Batch, method: str | None = None) -> Prediction:
        """Predict ``batch`` (rows first) together with whatever else is queued.

        ``method`` is passed on to the predict function (``predict(batch, method)``) when
        given; requests are only combined with others of the same method.
        """
        fut = self._loop.create_future()
        n = rows_of(batch)
        self._queue.append((batch, n, fut, method))
        self._rows += n
        if self._rows >= self._max_rows:
            self._flush()
        elif not self._scheduled:
            self._schedule()
        return await fut

    def _schedule(self) -> None:
        self._scheduled = True
        self._first_at = self._loop.time()
        self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        if not self._queue:
            self._scheduled = False
            return
        # Tasks created by the same I/O poll as the first request have all run by now
        # (they were scheduled before this callback), so whatever is still arriving is
        # a body being streamed in: worth waiting for, up to max_latency_ms.
        if self.arriving <= 0 or self._loop.time() - self._first_at >= self._max_wait:
            self._scheduled = False
            self._flush()
        else:
            self._loop.call_soon(self._tick)

    def _flush(self) -> None:
        while self._queue:
            # Take whole requests of the first one's method up to max_batch_size rows
            # (always at least one); the others keep their places.
            method = self._queue[0][3]
            group, rest, rows = [], [], 0
            for item in self._queue:
                if item[3] != method or (group and rows + item[1] > self._max_rows):
                    rest.append(item)
                    continue
                group.append(item)
                rows += item[1]
            self._queue = rest
            self._rows -= rows
            self._run(group, rows)
            if self._rows < self._max_rows:
                break
        if self._queue and not self._scheduled:
            self._schedule()

    def _call(self, batch: Batch, method: str | None) -> Prediction:
        return self._predict(batch) if method is None else self._predict(batch, method)

    def _run(self, group: list[tuple[Batch, int, asyncio.Future, str | None]], rows: int) -> None:
        if len(group) == 1:
            self._run_one(*group[0])
            return
        try:
            pred = self._call(concat([b for b, _, _, _ in group]), group[0][3])
            if rows_of(pred) != rows:
                raise ValueError("prediction rows do not match the batch")
        except Exception:  # noqa: BLE001 - isolate: retry each request alone
            log.info("batch of %d requests failed; predicting them one by one", len(group))
            for item in group:
                self._run_one(*item)
            return
        start = 0
        for _, n, fut, _ in group:
            if not fut.done():
                fut.set_result(take(pred, start, start + n))
            start += n

    def _run_one(self, batch: Batch, n: int, fut: asyncio.Future, method: str | None = None) -> None:
        try:
            result = self._call(batch, method)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)
