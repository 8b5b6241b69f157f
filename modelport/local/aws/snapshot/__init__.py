"""Snapshot and restore of the embedded AWS state that the platform uses.

moto keeps everything in memory; this writes what the platform needs to survive a stop
(DynamoDB tables with items, S3 buckets with object versions, metadata and checksums,
SQS queues, CloudWatch alarms, Application Auto Scaling targets and policies) into
`<state_dir>/aws/` through the AWS APIs themselves, and replays it on start. State
machines, event buses and rules are not kept: they are created from their definitions
at every start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.local.aws.snapshot import dynamodb, other, s3
from modelport.local.statefiles import BlobStore, read_json, write_json_atomic

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class Snapshotter:
    """Writes and replays `<state_dir>/aws/snapshot.json` (+ content-addressed blobs)."""

    def __init__(self, client: Callable[[str], Any], state_dir: Path, region: str) -> None:
        self._client = client
        self._root = state_dir / "aws"
        self._manifest = self._root / "snapshot.json"
        self._blobs = BlobStore(self._root / "blobs")
        self._region = region
        self._lock = threading.Lock()
        self.last_duration_s = 0.0

    def snapshot(self) -> None:
        """Write a complete snapshot atomically (the manifest is replaced in one rename)."""
        with self._lock:
            started = time.perf_counter()
            previous = read_json(self._manifest, {}) or {}
            document = {
                "format_version": FORMAT_VERSION,
                "taken_at": time.time(),
                "queues": other.snapshot_queues(self._client("sqs")),
                "dynamodb": dynamodb.snapshot(self._client("dynamodb")),
                "s3": s3.snapshot(self._client("s3"), self._blobs, previous.get("s3", [])),
                "alarms": other.snapshot_alarms(self._client("cloudwatch")),
                "scaling": other.snapshot_scaling(self._client("application-autoscaling")),
            }
            write_json_atomic(self._manifest, document)
            self._blobs.keep_only(s3.blob_digests(document["s3"]))
            self.last_duration_s = time.perf_counter() - started

    def restore(self) -> bool:
        """Replay the last snapshot into an empty embedded AWS; False when there is none."""
        document = read_json(self._manifest)
        if not document:
            return False
        if document.get("format_version") != FORMAT_VERSION:
            raise RuntimeError(
                f"{self._manifest}: snapshot format {document.get('format_version')} is not "
                f"supported (expected {FORMAT_VERSION})"
            )
        with self._lock:
            other.restore_queues(self._client("sqs"), document["queues"])
            dynamodb.restore(self._client("dynamodb"), document["dynamodb"])
            s3.restore(self._client("s3"), self._blobs, document["s3"], self._region)
            other.restore_alarms(self._client("cloudwatch"), document["alarms"])
            other.restore_scaling(self._client("application-autoscaling"), document["scaling"])
        log.info("restored embedded AWS state from %s", self._manifest)
        return True
