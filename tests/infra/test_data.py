"""Data stack: encryption at rest, PITR, TLS-only public-access-blocked buckets, DLQ wiring."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from functions.adapters.schema import AUDIT, METADATA
from infra.settings import StageSettings
from infra.stacks.data import DataStack
from tests.infra.conftest import cdk_context, resources


def test_key_rotates(templates):
    keys = resources(templates["data"], "AWS::KMS::Key")
    assert keys and all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())


def test_tables_are_on_demand_with_pitr_and_customer_key(templates):
    tables = resources(templates["data"], "AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in props["SSESpecification"]


def test_metadata_table_follows_the_adapter_schema(templates):
    templates["data"].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": METADATA.keys.partition, "KeyType": "HASH"},
                {"AttributeName": METADATA.keys.sort, "KeyType": "RANGE"},
            ],
            "TimeToLiveSpecification": {"AttributeName": METADATA.ttl_attribute, "Enabled": True},
            "GlobalSecondaryIndexes": [
                Match.object_like({"IndexName": index.name}) for index in METADATA.indexes
            ],
        },
    )
    templates["data"].has_resource_properties(
        "AWS::DynamoDB::Table",
        {"KeySchema": [{"AttributeName": AUDIT.keys.partition, "KeyType": "HASH"},
                       {"AttributeName": AUDIT.keys.sort, "KeyType": "RANGE"}],
         "TimeToLiveSpecification": Match.absent()},
    )  # fmt: skip


def test_dev_tables_have_no_deletion_protection(templates):
    for table in resources(templates["data"], "AWS::DynamoDB::Table").values():
        assert table["Properties"].get("DeletionProtectionEnabled") in (None, False)


def test_prod_tables_are_protected_and_retained():
    app = cdk.App(context=cdk_context())
    settings = StageSettings(name="prod", region="eu-west-1", production=True)
    template = Template.from_stack(DataStack(app, "Data", settings=settings))
    tables = resources(template, "AWS::DynamoDB::Table")
    assert tables and all(t["Properties"]["DeletionProtectionEnabled"] is True for t in tables.values())
    assert all(t["DeletionPolicy"] == "Retain" for t in tables.values())
    assert all(k["DeletionPolicy"] == "Retain" for k in resources(template, "AWS::KMS::Key").values())


def test_buckets_are_versioned_private_encrypted_and_logged(templates):
    buckets = resources(templates["data"], "AWS::S3::Bucket")
    data_buckets = {k: b for k, b in buckets.items() if "LoggingConfiguration" in b["Properties"]}
    assert len(data_buckets) == 3  # artifacts, datasets, captures
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        }  # fmt: skip
    for bucket in data_buckets.values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"]


def test_every_bucket_denies_plain_http(templates):
    buckets = resources(templates["data"], "AWS::S3::Bucket")
    policies = resources(templates["data"], "AWS::S3::BucketPolicy").values()
    tls_only = {
        p["Properties"]["Bucket"]["Ref"]
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert tls_only == set(buckets)


def test_queues_are_encrypted_tls_only_and_dead_lettered(templates):
    template = templates["data"]
    queues = resources(template, "AWS::SQS::Queue")
    assert len(queues) == 4  # dataset and capture notifications, each with its DLQ
    assert all("KmsMasterKeyId" in q["Properties"] for q in queues.values())
    main = [k for k, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    dlq = {k for k in queues if k not in main}
    assert len(main) == 2 and len(dlq) == 2
    targets = set()
    for queue in main:
        redrive = queues[queue]["Properties"]["RedrivePolicy"]
        targets.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
        assert redrive["maxReceiveCount"] >= 1
    assert targets == dlq
    denies = [
        s for p in resources(template, "AWS::SQS::QueuePolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]  # fmt: skip
    assert {s["Resource"]["Fn::GetAtt"][0] for s in denies} == set(queues)


def test_dataset_uploads_notify_the_queue(templates):
    templates["data"].has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "datasets/"}]}},
                        "QueueArn": Match.any_value(),
                    }
                ]
            }
        },
    )
