"""Adaptive batching, in the server's own event loop.

Requests that arrive while others are being decoded are predicted together: one
``predict`` call on many rows costs about what it costs on one row for most tabular
models, so amortising it is where the throughput comes from. The batcher runs on the
event loop itself (no thread hop per request) and waits only as long as requests keep
arriving: it flushes as soon as one loop iteration passes without a new request, when
``max_batch_size`` rows are queued, or when the oldest request has waited
``max_latency_ms``. A lone request therefore pays only a couple of loop iterations.

Results come back in submission order. If a combined batch fails, its requests are
predicted one by one, so one bad request fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import numpy as np

from model_containers.runtimes import Batch, Prediction

log = logging.getLogger(__name__)

# Loop iterations without a new arrival before a flush. Two, because a request read in
# this iteration's I/O poll reaches the queue only after the check already scheduled.
_QUIET_TICKS = 2


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
        self._queue: list[tuple[Batch, int, asyncio.Future]] = []
        self._rows = 0
        self._scheduled = False
        self._seen = 0
        self._quiet = 0
        self._first_at = 0.0

    async def submit(self, batch: Batch) -> Prediction:
        """Predict ``batch`` (rows first) together with whatever else is queued."""
        fut = self._loop.create_future()
        n = rows_of(batch)
        self._queue.append((batch, n, fut))
        self._rows += n
        if self._rows >= self._max_rows:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            self._seen, self._quiet = len(self._queue), 0
            self._first_at = self._loop.time()
            self._loop.call_soon(self._tick)
        return await fut

    def _tick(self) -> None:
        if not self._queue:
            self._scheduled = False
            return
        size = len(self._queue)
        if size > self._seen:
            self._seen, self._quiet = size, 0
        else:
            self._quiet += 1
        if self._quiet >= _QUIET_TICKS or self._loop.time() - self._first_at >= self._max_wait:
            self._scheduled = False
            self._flush()
        else:
            self._loop.call_soon(self._tick)

    def _flush(self) -> None:
        while self._queue:
            # Take whole requests up to max_batch_size rows (always at least one).
            taken, rows = 0, 0
            for _, n, _ in self._queue:
                if taken and rows + n > self._max_rows:
                    break
                taken, rows = taken + 1, rows + n
            group, self._queue = self._queue[:taken], self._queue[taken:]
            self._rows -= rows
            self._run(group, rows)
            if self._rows < self._max_rows:
                break
        if self._queue and not self._scheduled:
            self._scheduled = True
            self._seen, self._quiet, self._first_at = len(self._queue), 0, self._loop.time()
            self._loop.call_soon(self._tick)

    def _run(self, group: list[tuple[Batch, int, asyncio.Future]], rows: int) -> None:
        if len(group) == 1:
            self._run_one(*group[0])
            return
        try:
            pred = self._predict(concat([b for b, _, _ in group]))
            if rows_of(pred) != rows:
                raise ValueError("prediction rows do not match the batch")
        except Exception:  # noqa: BLE001 - isolate: retry each request alone
            log.info("batch of %d requests failed; predicting them one by one", len(group))
            for item in group:
                self._run_one(*item)
            return
        start = 0
        for _, n, fut in group:
            if not fut.done():
                fut.set_result(take(pred, start, start + n))
            start += n

    def _run_one(self, batch: Batch, n: int, fut: asyncio.Future) -> None:
        try:
            result = self._predict(batch)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)
