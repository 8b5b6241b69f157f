"""SQS messages as after-images: one message's whole state (in which queue, how often
received, when visible again) or its deletion.

`{"t": "sqs", "queue": q, "id": message id, "message": state | None}`; a message moved to
a dead-letter queue is simply an image naming the other queue. `{"t": "sqs-purge",
"queue": q}` empties a queue. Receive counts and visibility times are kept, so after a
restart a message that was in flight becomes visible again when its visibility timeout
ends, and one received too often still moves to the dead-letter queue, as SQS does.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

log = logging.getLogger(__name__)

#: queue-level writes, journaled as requests and replayed through moto.
QUEUE_WRITES = frozenset({"CreateQueue", "DeleteQueue", "SetQueueAttributes", "TagQueue", "UntagQueue",
                          "AddPermission", "RemovePermission"})
_FIELDS = (
    "id", "body", "message_attributes", "receipt_handle", "_old_receipt_handles", "sender_id",
    "sent_timestamp", "approximate_first_receive_timestamp", "approximate_receive_count",
    "deduplication_id", "group_id", "sequence_number", "visible_at", "delayed_until", "system_attributes",
)  # fmt: skip


def backend(account: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account][region]


def _plain(value: Any) -> Any:
    """JSON-safe (binary message attributes as tagged base64)."""
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _unplain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


def image(queue: str, message: Any) -> dict:
    return {"t": "sqs", "queue": queue, "id": message.id,
            "message": {name: _plain(getattr(message, name, None)) for name in _FIELDS}}


def gone(queue: str, message_id: str) -> dict:
    return {"t": "sqs", "queue": queue, "id": message_id, "message": None}


def purged(queue: str) -> dict:
    return {"t": "sqs-purge", "queue": queue}


def queue_images(account: str, region: str, name: str) -> list[dict]:
    queue = backend(account, region).queues.get(name)
    return [image(name, m) for m in list(queue._messages)] if queue is not None else []


def queue_names(account: str, region: str) -> list[str]:
    return list(backend(account, region).queues)


class Applier:
    """Applies message images in order; knows which queue holds each message id."""

    def __init__(self, account: str, region: str) -> None:
        self._sqs = backend(account, region)
        self._where: dict[str, str] = {
            m.id: name for name, queue in self._sqs.queues.items() for m in queue._messages
        }

    def apply(self, entry: dict) -> None:
        from moto.core.utils import unix_time_millis
        from moto.sqs.models import Message

        if entry["t"] == "sqs-purge":
            queue = self._sqs.queues.get(entry["queue"])
            if queue is not None:
                for message in queue._messages:
                    self._where.pop(message.id, None)
                queue._messages = []
                queue._pending_messages = set()
            return
        message_id = entry["id"]
        previous = self._where.pop(message_id, None)
        if previous is not None and previous in self._sqs.queues:
            holder = self._sqs.queues[previous]
            holder._messages = [m for m in holder._messages if m.id != message_id]
            holder._pending_messages = {m for m in holder._pending_messages if m.id != message_id}
        state = entry["message"]
        if state is None:
            return
        queue = self._sqs.queues.get(entry["queue"])
        if queue is None:
            log.warning("journal: message %s of queue %s, which no longer exists, skipped",
                        message_id, entry["queue"])
            return
        message = Message(state["id"], state["body"])
        for name in _FIELDS:
            if name not in ("id", "body"):
                setattr(message, name, _unplain(state.get(name)))
        message._old_receipt_handles = list(message._old_receipt_handles or [])
        message.system_attributes = message.system_attributes or {}
        message.message_attributes = message.message_attributes or {}
        queue._messages.append(message)
        if message.visible_at > unix_time_millis():
            queue._pending_messages.add(message)  # in flight, as it was
        self._where[message_id] = entry["queue"]
