"""What the front adds on the way to moto: authorizer-cache flushes, S3 checksums,
execution names; and that everything else reaches moto unchanged."""

from __future__ import annotations

import base64
import hashlib
import urllib.request

import pytest
from botocore.exceptions import ClientError


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_flush_stage_authorizers_cache_calls_the_registered_gateway(cloud, aws, unique):
    flushes: list[str] = []
    cloud.aws.front.register_authorizer_cache(f"api{unique}", "local", lambda: flushes.append("now"))
    aws("apigateway").flush_stage_authorizers_cache(restApiId=f"api{unique}", stageName="local")
    assert flushes == ["now"]
    with pytest.raises(ClientError) as caught:
        aws("apigateway").flush_stage_authorizers_cache(restApiId=f"api{unique}", stageName="prod")
    assert caught.value.response["Error"]["Code"] == "NotFoundException"
    assert flushes == ["now"]


def test_an_upload_is_checked_against_its_declared_sha256_and_keeps_it(aws, bucket):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="good", Body=b"artifact", ChecksumSHA256=sha256(b"artifact"))
    head = s3.head_object(Bucket=bucket, Key="good", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha256(b"artifact")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"tampered", ChecksumSHA256=sha256(b"artifact"))
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert "bad" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_presigned_upload_with_a_checksum_header_is_verified(aws, bucket):
    s3 = aws("s3")
    digest = sha256(b"data")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "pre", "ChecksumSHA256": digest})
    headers = {"x-amz-checksum-sha256": digest, "Content-Type": "application/octet-stream"}
    request = urllib.request.Request(url, data=b"data", method="PUT", headers=headers)
    assert urllib.request.urlopen(request).status == 200
    stored = s3.get_object(Bucket=bucket, Key="pre", ChecksumMode="ENABLED")
    assert stored["Body"].read() == b"data" and stored["ChecksumSHA256"] == digest
    tampered = urllib.request.Request(url, data=b"evil", method="PUT", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(tampered)
    assert caught.value.code == 400 and b"BadDigest" in caught.value.read()


def test_executions_without_a_name_get_distinct_uuid_names(aws, unique):
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"names-{unique}", roleArn="arn:aws:iam::123456789012:role/r",
        definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}',
    )["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert first != second
    assert len(first.rsplit(":", 1)[1]) == 36


def test_other_services_pass_through_to_moto(aws, unique):
    ddb = aws("dynamodb")
    ddb.create_table(TableName=f"t-{unique}", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    ddb.put_item(TableName=f"t-{unique}", Item={"k": {"S": "v"}})
    assert ddb.get_item(TableName=f"t-{unique}", Key={"k": {"S": "v"}})["Item"] == {"k": {"S": "v"}}
    bus = aws("events").create_event_bus(Name=f"bus-{unique}")
    assert bus["EventBusArn"].endswith(f"event-bus/bus-{unique}")
