"""Snapshots of the embedded AWS state that the platform uses: the journal's compaction.

A snapshot is `<state_dir>/aws/snapshot.json`, replaced in one rename. It holds the
configuration, read through the AWS APIs (DynamoDB tables and TTL, S3 buckets with
versioning and notifications, SQS queues, CloudWatch alarms with their state, Application
Auto Scaling targets and policies), and the data as the journal's after-images (items,
object versions naming their blobs, messages), plus `journal_from`: the first journal
segment a restore replays after it. State machines, event buses and rules are not kept:
they are created from their definitions at every start.

Format 1 (written before the journal, data read through the APIs) is still restored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.local.aws.snapshot import dynamodb, other, s3
from modelport.local.statefiles import BlobStore, read_json, write_bytes_atomic

log = logging.getLogger(__name__)

FORMAT_VERSION = 2


class Snapshotter:
    """Reads and writes `<root>/snapshot.json`; configuration through `client(service)`."""

    def __init__(self, client: Callable[[str], Any], root: Path, region: str, blobs: BlobStore) -> None:
        self._client = client
        self.manifest = root / "snapshot.json"
        self._blobs = blobs
        self._region = region

    def read(self) -> dict | None:
        document = read_json(self.manifest)
        if document and document.get("format_version") not in (1, FORMAT_VERSION):
            raise RuntimeError(
                f"{self.manifest}: snapshot format {document.get('format_version')} is not "
                f"supported (expected {FORMAT_VERSION})"
            )
        return document or None

    def configuration(self) -> dict:
        """Everything but the data, as the APIs describe it now."""
        return {
            "queues": other.snapshot_queues(self._client("sqs")),
            "dynamodb": dynamodb.tables(self._client("dynamodb")),
            "s3": s3.buckets(self._client("s3")),
            "alarms": other.snapshot_alarms(self._client("cloudwatch")),
            "scaling": other.snapshot_scaling(self._client("application-autoscaling")),
        }

    def write(self, document: dict, encoded: bytes) -> int:
        """Replace the manifest with `encoded` (the document, serialised); returns its size."""
        write_bytes_atomic(self.manifest, encoded)
        return len(encoded)

    def restore_configuration(self, document: dict) -> None:
        """Queues, tables and buckets (before the data); alarms and scaling."""
        other.restore_queues(self._client("sqs"), document["queues"])
        dynamodb.restore(self._client("dynamodb"), document["dynamodb"])
        s3.restore_buckets(self._client("s3"), document["s3"], self._region)
        other.restore_alarms(self._client("cloudwatch"), document["alarms"])
        other.restore_scaling(self._client("application-autoscaling"), document["scaling"])

    def restore_notifications(self, document: dict) -> None:
        s3.restore_notifications(self._client("s3"), document["s3"])

    def restore_format_1(self, document: dict) -> None:
        """A snapshot from before the journal: data through the APIs, as it was written."""
        other.restore_queues(self._client("sqs"), document["queues"])
        dynamodb.restore(self._client("dynamodb"), document["dynamodb"])
        s3.restore(self._client("s3"), self._blobs, document["s3"], self._region)
        other.restore_alarms(self._client("cloudwatch"), document["alarms"])
        other.restore_scaling(self._client("application-autoscaling"), document["scaling"])
        log.info("restored a format-1 snapshot from %s", self.manifest)
