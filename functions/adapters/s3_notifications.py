"""S3 event notifications delivered through SQS: the one parser the queue consumers share
(the retrain trigger and the capture indexer).

A message that is not an S3 notification raises `MalformedNotification`, so it fails in the
partial batch response and the queue's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


class MalformedNotification(ValueError):
    """The message is not an S3 event notification."""


def s3_event(record: SQSRecord) -> S3Event | None:
    """The notification in `record`; None for the `s3:TestEvent` S3 sends when a bucket's
    notifications are configured (it has no `Records`)."""
    try:
        body = json.loads(record.body)
    except ValueError:
        raise MalformedNotification(f"message {record.message_id} is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedNotification(f"message {record.message_id} is not an S3 notification")
    if body.get("Event") == "s3:TestEvent":
        return None
    if not isinstance(body.get("Records"), list):
        raise MalformedNotification(f"message {record.message_id} is not an S3 notification")
    return S3Event(body)
