"""Acknowledged writes survive a stop without a final snapshot (what a crash leaves): the
journal is replayed after the last snapshot. The SIGKILL test of a real `local up` is in
tests/durability."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from urllib.parse import unquote_plus

import pytest

from modelport.local.aws.journal.log import segments


def crash_and_restart(cloud) -> None:
    """Stop without the final snapshot: only the journal (and older snapshots) remain."""
    cloud.stop(snapshot=False)
    cloud.start()


def test_every_kind_of_write_is_back_from_the_journal_alone(cloud, aws, unique):
    ddb, s3, sqs = aws("dynamodb"), aws("s3"), aws("sqs")
    table, bucket = f"j-{unique}", f"j-{unique}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")])
    ddb.put_item(TableName=table, Item={"PK": {"S": "a"}, "SK": {"S": "1"}, "n": {"N": "1"}, "b": {"B": b"\x00\x01"}})
    ddb.update_item(TableName=table, Key={"PK": {"S": "a"}, "SK": {"S": "1"}},
                    UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "41"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {"PK": {"S": "t"}, "SK": {"S": "1"}}}},
        {"Put": {"TableName": table, "Item": {"PK": {"S": "t"}, "SK": {"S": "2"}}}},
    ])
    ddb.put_item(TableName=table, Item={"PK": {"S": "gone"}, "SK": {"S": "1"}})
    ddb.delete_item(TableName=table, Key={"PK": {"S": "gone"}, "SK": {"S": "1"}})
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"PK": {"S": "batch"}, "SK": {"S": str(i)}}}}
                                               for i in range(3)]})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):  # refused writes change nothing
        ddb.put_item(TableName=table, Item={"PK": {"S": "a"}, "SK": {"S": "1"}}, ConditionExpression="attribute_not_exists(PK)")

    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    small = s3.put_object(Bucket=bucket, Key="small.txt", Body=b"v1", Metadata={"k": "v"})
    s3.put_object(Bucket=bucket, Key="small.txt", Body=b"v2", ContentType="text/plain")
    large = os.urandom(3 << 20)
    sha = base64.b64encode(hashlib.sha256(large).digest()).decode()
    s3.put_object(Bucket=bucket, Key="large.bin", Body=large, ChecksumSHA256=sha)
    s3.copy_object(Bucket=bucket, Key="copy.bin", CopySource={"Bucket": bucket, "Key": "large.bin"})
    s3.put_object(Bucket=bucket, Key="deleted.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="deleted.txt")
    s3.put_object_tagging(Bucket=bucket, Key="small.txt", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})

    dlq = sqs.create_queue(QueueName=f"jdlq-{unique}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"jq-{unique}", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
    for body in ("keep", "delete", "poison"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    received = {m["Body"]: m for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]}
    assert set(received) == {"keep", "delete", "poison"}
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=received["delete"]["ReceiptHandle"])
    time.sleep(1.1)
    again = {m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]}
    assert again == {"keep", "poison"}  # each received twice now: the next receive redrives them

    journal = cloud.settings.state_dir / "aws" / "journal"
    crash_and_restart(cloud)
    assert segments(journal), "the journal was replayed, not a final snapshot"

    item = ddb.get_item(TableName=table, Key={"PK": {"S": "a"}, "SK": {"S": "1"}})["Item"]
    assert item["n"] == {"N": "42"} and item["b"] == {"B": b"\x00\x01"}
    keys = sorted((i["PK"]["S"], i["SK"]["S"]) for i in ddb.scan(TableName=table)["Items"])
    assert keys == [("a", "1"), ("batch", "0"), ("batch", "1"), ("batch", "2"), ("t", "1"), ("t", "2")]

    versions = s3.list_object_versions(Bucket=bucket, Prefix="small")["Versions"]
    assert small["VersionId"] in [v["VersionId"] for v in versions] and len(versions) == 2  # ids kept
    old = s3.get_object(Bucket=bucket, Key="small.txt", VersionId=small["VersionId"])
    assert old["Body"].read() == b"v1" and old["Metadata"] == {"k": "v"}
    assert s3.get_object(Bucket=bucket, Key="small.txt")["ContentType"] == "text/plain"
    assert s3.get_object_tagging(Bucket=bucket, Key="small.txt")["TagSet"] == [{"Key": "t", "Value": "1"}]
    head = s3.head_object(Bucket=bucket, Key="large.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha and head["ContentLength"] == len(large)
    assert s3.get_object(Bucket=bucket, Key="large.bin")["Body"].read() == large
    assert s3.get_object(Bucket=bucket, Key="copy.bin")["Body"].read() == large
    assert [m["Key"] for m in s3.list_object_versions(Bucket=bucket, Prefix="deleted")["DeleteMarkers"]] == ["deleted.txt"]

    # the deleted message stays deleted; the others kept their receive counts, so they move
    # to the dead-letter queue on the next receive, as SQS's redrive policy says
    time.sleep(1.1)
    assert sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []) == []
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in dead) == ["keep", "poison"]


def test_a_message_in_flight_becomes_visible_again_when_its_timeout_ends(cloud, aws, unique):
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName=f"flight-{unique}", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="in flight")
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    received_at = time.monotonic()
    crash_and_restart(cloud)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # still invisible
    time.sleep(max(0.0, 3.2 - (time.monotonic() - received_at)))
    [again] = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert again["MessageId"] == message["MessageId"] and again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_an_s3_notification_sent_before_a_crash_is_still_queued(cloud, aws, unique):
    s3, sqs = aws("s3"), aws("sqs")
    queue = sqs.create_queue(QueueName=f"notify-{unique}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = f"notify-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    sqs.purge_queue(QueueUrl=queue)  # the test event
    s3.put_object(Bucket=bucket, Key="datasets/a.csv", Body=b"a,b\n")
    crash_and_restart(cloud)
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    created = [b for b in bodies if "Records" in b]
    # keys arrive URL-encoded, as S3 sends them
    assert [unquote_plus(r["s3"]["object"]["key"]) for b in created for r in b["Records"]] == ["datasets/a.csv"]


def test_the_journal_is_compacted_into_a_snapshot_and_dropped(cloud, aws, unique):
    ddb = aws("dynamodb")
    table = f"compact-{unique}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    for i in range(20):
        ddb.put_item(TableName=table, Item={"PK": {"S": f"k{i}"}})
    durable = cloud.aws.durable
    journal = durable.log.root
    before = segments(journal)
    durable.checkpoint()
    after = segments(journal)
    assert after == [before[-1] + 1] and durable.log.bytes_in_segment == 0
    ddb.put_item(TableName=table, Item={"PK": {"S": "after"}})
    crash_and_restart(cloud)
    assert ddb.scan(TableName=table)["Count"] == 21


def test_a_cancelled_transaction_leaves_every_item_as_it_was(cloud, aws, unique):
    """Local transactions undo only the items they touched (moto copies whole tables)."""
    ddb = aws("dynamodb")
    table = f"tx-{unique}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    ddb.put_item(TableName=table, Item={"PK": {"S": "kept"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "guard"}, "v": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"PK": {"S": "new"}}}},
            {"Update": {"TableName": table, "Key": {"PK": {"S": "kept"}}, "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Delete": {"TableName": table, "Key": {"PK": {"S": "guard"}},
                        "ConditionExpression": "v = :nine", "ExpressionAttributeValues": {":nine": {"N": "9"}}}},
        ])
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    items = {i["PK"]["S"]: i.get("v") for i in ddb.scan(TableName=table)["Items"]}
    assert items == {"kept": {"N": "1"}, "guard": {"N": "1"}}
    crash_and_restart(cloud)  # and nothing of it was journaled
    assert {i["PK"]["S"] for i in ddb.scan(TableName=table)["Items"]} == {"kept", "guard"}


def test_the_local_sagemaker_writes_one_record_per_change(cloud, tmp_path):
    """A change costs its own record, not the whole store (which an older version rewrote)."""
    from modelport.local.sagemaker.store import Store

    store = Store(tmp_path / "sm")
    for i in range(50):
        store.put("models", f"m-{i}", {"ModelName": f"m-{i}"})
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sm" / "records" / "models").iterdir()}
    store.update("models", "m-7", Tag="x")
    store.delete("models", "m-8")
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sm" / "records" / "models").iterdir()}
    changed = {n for n in before if n in after and after[n] != before[n]}
    assert changed == {"m-7.json"} and "m-8.json" not in after
    assert Store(tmp_path / "sm").get("models", "m-7") == {"ModelName": "m-7", "Tag": "x"}
    assert Store(tmp_path / "sm").get("models", "../evil") is None
    store.put("models", "../evil", {"ModelName": "../evil"})
    assert not (tmp_path / "evil.json").exists() and Store(tmp_path / "sm").get("models", "../evil")


def test_an_older_single_file_store_is_split_into_records(tmp_path):
    from modelport.local.sagemaker.store import Store

    root = tmp_path / "sm"
    root.mkdir()
    (root / "state.json").write_text(json.dumps({"endpoints": {"ep": {"EndpointName": "ep"}}}))
    assert Store(root).get("endpoints", "ep") == {"EndpointName": "ep"}
    assert not (root / "state.json").exists() and (root / "records" / "endpoints" / "ep.json").is_file()


def test_a_write_the_journal_does_not_know_item_by_item_is_kept_as_whole_tables(cloud, aws, unique):
    """PartiQL (which the platform does not use) is journaled as whole tables: still kept."""
    ddb = aws("dynamodb")
    table = f"partiql-{unique}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    ddb.put_item(TableName=table, Item={"PK": {"S": "before"}})
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'PK': 'inserted'}}")
    ddb.execute_statement(Statement=f"DELETE FROM \"{table}\" WHERE PK = 'before'")
    crash_and_restart(cloud)
    assert {i["PK"]["S"] for i in ddb.scan(TableName=table)["Items"]} == {"inserted"}
