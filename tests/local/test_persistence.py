"""State survives a stop and start of the local cloud: tables, objects (versions, metadata,
checksums), queues, alarms and scaling targets come back from the snapshot."""

from __future__ import annotations

import base64
import hashlib
import json

from modelport.local.aws.journal.log import segments
from modelport.local.statefiles import read_json
from modelport.local.testing import wait_for


def restart(cloud) -> None:
    cloud.stop()
    cloud.start()


def test_what_was_written_is_back_after_a_restart(cloud, aws, unique):
    ddb, s3, sqs, cw, scaling = (aws(s) for s in (
        "dynamodb", "s3", "sqs", "cloudwatch", "application-autoscaling"))
    table, bucket = f"meta-{unique}", f"artifacts-{unique}"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK")],
        GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}]}],
    )
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    item = {"PK": {"S": "MODEL#churn"}, "SK": {"S": "META"}, "GSI1PK": {"S": "MODELS"},
            "blob": {"B": b"\x00\xffbinary"}, "n": {"N": "12.5"},
            "card": {"M": {"tags": {"L": [{"S": "a"}, {"N": "1"}]}, "hashes": {"BS": [b"\x01"]}}}}
    ddb.put_item(TableName=table, Item=item)
    ddb.put_item(TableName=table, Item={"PK": {"S": "MODEL#churn"}, "SK": {"S": "V#00001.00000.00000"}})

    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="models/churn/model.tar.gz", Body=b"v1")
    body = b"version two of the artifact"
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="models/churn/model.tar.gz", Body=body, ChecksumSHA256=sha,
                  ContentType="application/gzip", Metadata={"model_version": "1.0.0"})
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone.txt")

    dlq = sqs.create_queue(QueueName=f"dlq-{unique}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    queue = sqs.create_queue(QueueName=f"q-{unique}", Attributes={
        "VisibilityTimeout": "45", "RedrivePolicy": redrive}, tags={"team": "ml"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})

    cw.put_metric_alarm(AlarmName=f"alarm-{unique}", MetricName="Errors", Namespace="AWS/SageMaker",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=f"alarm-{unique}", StateValue="ALARM", StateReason="test")
    resource = f"endpoint/ep-{unique}/variant/AllTraffic"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, MinCapacity=1, MaxCapacity=4,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    scaling.put_scaling_policy(
        PolicyName=f"p-{unique}", ServiceNamespace="sagemaker", ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})

    restart(cloud)
    root = cloud.settings.state_dir / "aws"
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]

    described = ddb.describe_table(TableName=table)["Table"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["GSI1"]
    assert ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["AttributeName"] == "ttl"
    got = ddb.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})["Item"]
    assert got == item
    assert ddb.query(TableName=table, IndexName="GSI1", KeyConditionExpression="GSI1PK = :m",
                     ExpressionAttributeValues={":m": {"S": "MODELS"}})["Count"] == 1
    assert ddb.scan(TableName=table)["Count"] == 2

    versions = s3.list_object_versions(Bucket=bucket, Prefix="models/")["Versions"]
    assert len(versions) == 2
    head = s3.head_object(Bucket=bucket, Key="models/churn/model.tar.gz", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha
    assert head["ContentType"] == "application/gzip"
    assert head["Metadata"] == {"model_version": "1.0.0"}
    assert s3.get_object(Bucket=bucket, Key="models/churn/model.tar.gz")["Body"].read() == body
    oldest = next(v for v in versions if not v["IsLatest"])
    assert s3.get_object(Bucket=bucket, Key=oldest["Key"], VersionId=oldest["VersionId"])["Body"].read() == b"v1"
    markers = s3.list_object_versions(Bucket=bucket, Prefix="gone")["DeleteMarkers"]
    assert [m["Key"] for m in markers] == ["gone.txt"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert notification[0]["QueueArn"] == queue_arn

    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert json.loads(attributes["RedrivePolicy"]) == json.loads(redrive)
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"team": "ml"}

    alarm = cw.describe_alarms(AlarmNames=[f"alarm-{unique}"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["Threshold"]) == ("ALARM", 1.0)
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [(1, 4)]
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    assert policies["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0


def test_the_journal_is_compacted_in_the_background_once_it_outgrows_the_snapshot(cloud, aws, unique):
    """A write's share of compaction never grows with the state: the journal is folded into
    a new snapshot only when it has grown as large as the last snapshot."""
    cloud.stop()
    cloud.settings.snapshot_interval_s = 0.2
    cloud.settings.journal_compact_bytes = 0
    try:
        cloud.start()
        durable = cloud.aws.durable
        durable.min_journal_bytes = 0
        ddb = aws("dynamodb")
        table = f"periodic-{unique}"
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
        first = durable.log.segment
        written = 0
        while durable.log.segment == first:
            assert written < 10 * max(durable.snapshot_bytes, 1 << 16), "no compaction"
            ddb.put_item(TableName=table, Item={"PK": {"S": f"k{written}"}, "pad": {"S": "x" * 4000}})
            written += 1
        manifest = cloud.settings.state_dir / "aws" / "snapshot.json"

        def compacted():
            document = read_json(manifest, {}) or {}
            tables = {t["table"]: t for t in document.get("data", {}).get("dynamodb", [])}
            return document.get("journal_from", 0) > first and table in tables and tables[table]["items"]

        assert wait_for(compacted, 10, 0.1, "a compaction")
        assert min(segments(durable.log.root)) > first  # the segments it covers are gone
    finally:
        cloud.stop()
        cloud.settings.snapshot_interval_s = 0
        cloud.settings.journal_compact_bytes = 8 << 20
        cloud.start()
