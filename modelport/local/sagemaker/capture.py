"""Data capture as SageMaker writes it, for local endpoints.

An endpoint config's `DataCaptureConfig` decides what is captured: `EnableCapture`, the
share of requests (`InitialSamplingPercentage`, sampled at random per request), `Input`
and/or `Output` (`CaptureOptions`) and which content types are kept as text
(`CaptureContentTypeHeader`: a media type in `CsvContentTypes` is captured with encoding
`CSV`, in `JsonContentTypes` with `JSON`, anything else `BASE64`; without the header
everything is BASE64, as the API reference says). Each record is one JSON line:

    {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data",
     "encoding"}, "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId", "inferenceId" (only when the caller gave one),
     "inferenceTime"}, "eventVersion": "0"}

under `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<ms>-<uuid>.jsonl`
(the hour of the invocation, UTC). SageMaker delivers captures within minutes; here a
background thread writes what accumulated every `capture_flush_s`, so the inference path
only samples and queues (the serving benchmark measures the cost).
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from modelport.local.sagemaker.artifacts import split_s3_uri

log = logging.getLogger(__name__)

#: records waiting to be written; beyond this new ones are dropped (SageMaker too stops
#: capturing rather than slow inference down when it cannot keep up).
MAX_PENDING = 200_000


@dataclass(frozen=True)
class CaptureConfig:
    """The parts of `DataCaptureConfig` that decide what a request leaves behind."""

    destination: str
    percent: float
    inputs: bool
    outputs: bool
    csv_types: frozenset[str]
    json_types: frozenset[str]

    @classmethod
    def parse(cls, config: dict | None) -> CaptureConfig | None:
        """None when the endpoint config captures nothing."""
        if not config or not config.get("EnableCapture", True):
            return None
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
        headers = config.get("CaptureContentTypeHeader") or {}
        found = cls(
            destination=config["DestinationS3Uri"].rstrip("/"),
            percent=float(config.get("InitialSamplingPercentage", 0)),
            inputs=bool(modes & {"Input", "InputAndOutput"}),
            outputs=bool(modes & {"Output", "InputAndOutput"}),
            csv_types=frozenset(_media(t) for t in headers.get("CsvContentTypes") or []),
            json_types=frozenset(_media(t) for t in headers.get("JsonContentTypes") or []),
        )
        return found if found.percent > 0 and (found.inputs or found.outputs) else None

    def encode(self, body: bytes, content_type: str | None, mode: str) -> dict[str, str]:
        media = _media(content_type or "")  # cached: a handful of content types
        if media in self.csv_types:
            encoding, data = "CSV", body.decode("utf-8", "replace")
        elif media in self.json_types:
            encoding, data = "JSON", body.decode("utf-8", "replace")
        else:
            encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
        return {"observedContentType": content_type or "", "mode": mode, "data": data, "encoding": encoding}


@functools.lru_cache(maxsize=256)
def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class _Pending:
    endpoint: str
    variant: str
    config: CaptureConfig
    request: bytes
    request_type: str | None
    response: bytes
    response_type: str | None
    inference_id: str | None
    at: float


class CaptureWriter:
    """Samples successful invocations and writes them to S3 in SageMaker's layout."""

    def __init__(
        self,
        s3: Callable[[], Any],
        *,
        flush_s: float = 1.0,
        random_: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._s3 = s3
        self._flush_s = flush_s
        self._random = random_
        self._clock = clock
        self._pending: deque[_Pending] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self.written = 0
        self.dropped = 0

    # -- the inference path ---------------------------------------------------------------
    def submit(
        self, endpoint: str, variant: str, config: CaptureConfig | None, request: bytes,
        request_type: str | None, response: bytes, response_type: str | None, inference_id: str | None,
    ) -> bool:
        """Queue one invocation if the sampling picks it; True when it will be captured."""
        if config is None or (config.percent < 100 and self._random() * 100 >= config.percent):
            return False
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return False
        self._pending.append(_Pending(endpoint, variant, config, request, request_type, response,
                                      response_type, inference_id, self._clock()))
        return True

    # -- the writer -----------------------------------------------------------------------
    def start(self) -> CaptureWriter:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sagemaker-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Write what is queued, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("local SageMaker: writing data capture failed")

    def flush(self) -> int:
        """Write every queued record now (one object per endpoint, variant and hour)."""
        with self._write_lock:
            batch: list[_Pending] = []
            while self._pending:
                batch.append(self._pending.popleft())
            groups: dict[tuple[str, str, str, str], list[_Pending]] = {}
            for item in batch:
                hour = datetime.fromtimestamp(item.at, UTC).strftime("%Y/%m/%d/%H")
                groups.setdefault((item.config.destination, item.endpoint, item.variant, hour), []).append(item)
            for (destination, endpoint, variant, hour), items in groups.items():
                self._write(destination, endpoint, variant, hour, items)
            return len(batch)

    def _write(self, destination: str, endpoint: str, variant: str, hour: str, items: list[_Pending]) -> None:
        bucket, prefix = split_s3_uri(destination)
        first = datetime.fromtimestamp(items[0].at, UTC)
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        key = "/".join(p for p in (prefix, endpoint, variant, hour, name) if p)
        ids = event_ids(len(items))
        seconds: dict[int, str] = {}  # one strftime per second, not per record
        body = b"".join(orjson.dumps(record(item, event_id, seconds)) + b"\n" for item, event_id in zip(items, ids))
        self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonlines")
        self.written += len(items)


def record(item: _Pending, event_id: str | None = None, seconds: dict[int, str] | None = None) -> dict[str, Any]:
    """One capture line, in SageMaker's format."""
    data: dict[str, Any] = {}
    if item.config.inputs:
        data["endpointInput"] = item.config.encode(item.request, item.request_type, "INPUT")
    if item.config.outputs:
        data["endpointOutput"] = item.config.encode(item.response, item.response_type, "OUTPUT")
    metadata = {"eventId": event_id or str(uuid.uuid4())}
    if item.inference_id is not None:
        metadata["inferenceId"] = item.inference_id
    second = int(item.at)
    when = seconds.get(second) if seconds is not None else None
    if when is None:
        when = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if seconds is not None:
            seconds[second] = when
    metadata["inferenceTime"] = when
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def event_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs as strings, from one read of the OS's randomness
    (`str(uuid.uuid4())` costs a third of a capture record)."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    text = raw.hex()
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in (text[i:i + 32] for i in range(0, len(text), 32))]
