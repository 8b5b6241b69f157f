"""The SQS event source: Lambda's SQS event shape, partial batch failures, redrive to the
DLQ after maxReceiveCount receives, and S3 notifications arriving through SQS."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import unquote_plus

import pytest

from modelport.local.event_source import SqsEventSource
from modelport.local.testing import wait_for


@pytest.fixture
def queues(aws, unique):
    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{unique}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"q-{unique}", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    })["QueueUrl"]
    return queue, dlq


def bodies(sqs, url: str) -> list[str]:
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in found.get("Messages", []))


def test_partial_batch_failures_are_retried_then_dead_lettered(aws, queues):
    sqs = aws("sqs")
    queue, dlq = queues
    for body in ("ok-1", "poison", "ok-2"):
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes={
            "origin": {"DataType": "String", "StringValue": "test"}})
    events: list[dict] = []

    def handler(event):
        events.append(event)
        return {"batchItemFailures": [
            {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]}

    source = SqsEventSource(sqs, queue, handler, wait_s=1)
    first = source.poll_once()
    assert len(first.received) == 3 and len(first.deleted) == 2 and len(first.kept) == 1
    record = next(r for r in events[0]["Records"] if r["body"] == "poison")
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(queue.rsplit("/", 1)[1])
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "test", "binaryValue": None, "stringListValues": [],
        "binaryListValues": [], "dataType": "String"}
    assert record["md5OfBody"] and record["receiptHandle"]

    time.sleep(1.1)  # the kept message comes back after the visibility timeout
    second = source.poll_once()
    assert second.kept == first.kept
    assert events[1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"

    time.sleep(1.1)  # after maxReceiveCount receives, SQS moves it to the dead-letter queue
    third = source.poll_once()
    assert third.received == []
    assert bodies(sqs, dlq) == ["poison"]
    assert bodies(sqs, queue) == []


def test_a_handler_exception_keeps_the_whole_batch(aws, queues):
    sqs = aws("sqs")
    queue, _ = queues
    sqs.send_message(QueueUrl=queue, MessageBody="a")
    sqs.send_message(QueueUrl=queue, MessageBody="b")

    def handler(event):
        raise RuntimeError("boom")

    outcome = SqsEventSource(sqs, queue, handler, wait_s=1).poll_once()
    assert outcome.deleted == [] and len(outcome.kept) == 2
    assert "RuntimeError: boom" in outcome.error


def test_an_unknown_item_identifier_keeps_the_whole_batch(aws, queues):
    sqs = aws("sqs")
    queue, _ = queues
    sqs.send_message(QueueUrl=queue, MessageBody="a")
    outcome = SqsEventSource(
        sqs, queue, lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, wait_s=1,
    ).poll_once()
    assert outcome.deleted == [] and len(outcome.kept) == 1


def test_without_reported_failures_a_returned_batch_is_deleted(aws, queues):
    sqs = aws("sqs")
    queue, _ = queues
    sqs.send_message(QueueUrl=queue, MessageBody="a")
    outcome = SqsEventSource(sqs, queue, lambda event: None, wait_s=1).poll_once()
    assert len(outcome.deleted) == 1
    time.sleep(1.1)
    assert bodies(sqs, queue) == []


def test_s3_notifications_reach_the_handler_through_sqs(cloud, aws, queues, bucket):
    sqs, s3 = aws("sqs"), aws("s3")
    queue, _ = queues
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "datasets/"}]}},
        }],
    })
    created: list[dict] = []
    arrived = threading.Event()

    def handler(event):
        for record in event["Records"]:
            body = json.loads(record["body"])
            if body.get("Event") == "s3:TestEvent":  # S3 sends one when the configuration is set
                continue
            created.extend(body["Records"])
            arrived.set()

    cloud.aws.lambdas.register("trigger-test", lambda event, context: handler(event))
    poller = SqsEventSource(
        sqs, queue, lambda event: cloud.aws.lambdas.invoke("trigger-test", event), wait_s=1
    ).start()
    try:
        s3.put_object(Bucket=bucket, Key="other/skip.csv", Body=b"x")
        s3.put_object(Bucket=bucket, Key="datasets/churn/2024.csv", Body=b"a,b\n1,2\n")
        assert arrived.wait(10)
    finally:
        poller.stop()
        cloud.aws.lambdas.unregister("trigger-test")
    # Keys arrive URL-encoded, as from S3 (moto encodes "/" too): handlers unquote_plus them.
    assert [unquote_plus(r["s3"]["object"]["key"]) for r in created] == ["datasets/churn/2024.csv"]
    assert created[0]["eventName"].startswith("ObjectCreated:")
    assert created[0]["s3"]["bucket"]["name"] == bucket
    wait_for(lambda: bodies(sqs, queue) == [] or None, 5, what="the queue to drain")
