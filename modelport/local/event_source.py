"""An SQS event source mapping on one machine: long-poll a queue, invoke a handler with
Lambda's SQS batch event, delete what succeeded.

Like Lambda with `ReportBatchItemFailures`: a handler that returns
`{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}` keeps only those messages;
a handler that raises, or answers with an identifier that is not in the batch, keeps the
whole batch. Kept messages reappear after the queue's visibility timeout, and the queue's
redrive policy moves them to its dead-letter queue after `maxReceiveCount` receives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Invoke = Callable[[dict], Any]


@dataclass
class BatchOutcome:
    """What one poll did: message ids received, deleted and kept for a retry."""

    received: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    error: str | None = None


def to_record(message: dict, queue_arn: str, region: str) -> dict:
    """One SQS message as a record of Lambda's SQS event."""
    attributes = message.get("MessageAttributes") or {}
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value["DataType"],
            }
            for name, value in attributes.items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class SqsEventSource:
    """Polls `queue_url` in a thread and hands batches to `invoke` (e.g. a Lambda handler)."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        wait_s: int = 1,
        report_batch_item_failures: bool = True,
        name: str = "sqs-event-source",
    ) -> None:
        if not 1 <= batch_size <= 10:
            raise ValueError("batch_size must be within 1..10 (SQS's receive limit)")
        self._sqs = sqs
        self._url = queue_url
        self._invoke = invoke
        self._batch_size = batch_size
        self._wait_s = wait_s
        self._report_failures = report_batch_item_failures
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._arn = attributes["Attributes"]["QueueArn"]
        self._region = self._arn.split(":")[3]

    def start(self) -> SqsEventSource:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._wait_s + 30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            outcome = self.poll_once()
            if outcome.error and not outcome.received:
                self._stop.wait(1.0)  # the queue is unreachable: back off, then retry

    def poll_once(self) -> BatchOutcome:
        """Receive one batch (long poll), invoke, delete the successes."""
        outcome = BatchOutcome()
        try:
            messages = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=self._batch_size,
                WaitTimeSeconds=self._wait_s,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except Exception as exc:  # noqa: BLE001 - a poller survives a failed receive
            outcome.error = f"receive failed: {exc}"
            log.warning("%s: %s", self._name, outcome.error)
            return outcome
        if not messages:
            return outcome
        outcome.received = [m["MessageId"] for m in messages]
        event = {"Records": [to_record(m, self._arn, self._region) for m in messages]}
        failed = self._failed_ids(event, outcome)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        outcome.kept = [m["MessageId"] for m in messages if m["MessageId"] in failed]
        for start in range(0, len(succeeded), 10):
            chunk = succeeded[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        outcome.deleted = [m["MessageId"] for m in succeeded]
        return outcome

    def _failed_ids(self, event: dict, outcome: BatchOutcome) -> set[str]:
        """Message ids to keep: all on an exception or a malformed answer, else the reported ones."""
        batch = {r["messageId"] for r in event["Records"]}
        try:
            response = self._invoke(event)
        except Exception as exc:  # noqa: BLE001 - a failed invocation retries the whole batch
            outcome.error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: handler failed, the batch will be retried: %s", self._name, outcome.error)
            return batch
        if not self._report_failures or not isinstance(response, dict):
            return set()
        failures = response.get("batchItemFailures") or []
        ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if not ids <= batch:
            outcome.error = "batchItemFailures names an item that is not in the batch"
            log.warning("%s: %s; the whole batch will be retried", self._name, outcome.error)
            return batch
        return ids
