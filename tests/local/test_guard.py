"""The embedded AWS port as an attacker on the machine (or a web page) meets it (issue 10, finding 3).

It accepted any credentials: with made-up ones a reviewer scanned the key records, wrote
a forged admin key, invoked endpoints past the patterns and called the in-process `keys`
Lambda with a forged authorizer context. It answered CORS for any origin, and the S3
checksum check was skipped for PUTs with extra query parameters, an upper-case credential
scope, or no Authorization header. Now every request must be SigV4-signed with the run's
key, browsers and foreign Host headers are refused, and every upload is checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import zlib
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from modelport.local.aws import credentials as keyfile

FAKE = {"aws_access_key_id": "AKIAFAKEFAKEFAKEFAKE", "aws_secret_access_key": "made-up"}


def fake_client(cloud, service: str, **keys):
    return boto3.client(service, endpoint_url=cloud.url, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}, signature_version="s3v4" if service == "s3" else None),
                        **(keys or FAKE))


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return caught.value.response["Error"]["Code"]


def signed(cloud, method: str, url: str, *, service: str, body: bytes = b"", headers: dict | None = None,
           secret: str | None = None) -> dict:
    """Headers of a request signed with the run's key (or `secret`), as botocore signs it."""
    keys = cloud.aws.credentials
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(BotoCredentials(keys.access_key_id, secret or keys.secret_access_key), service, "us-east-1").add_auth(request)
    return dict(request.headers)


def test_made_up_credentials_get_nothing(cloud, aws, unique):
    aws("dynamodb").create_table(TableName=f"keys-{unique}", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}])
    dynamodb = fake_client(cloud, "dynamodb")
    assert code_of(dynamodb.scan, TableName=f"keys-{unique}") == "UnrecognizedClientException"
    assert code_of(dynamodb.put_item, TableName=f"keys-{unique}", Item={"PK": {"S": "KEY#forged"}}) == (
        "UnrecognizedClientException")
    assert aws("dynamodb").scan(TableName=f"keys-{unique}")["Items"] == []  # nothing was written
    assert code_of(fake_client(cloud, "s3").list_buckets) == "InvalidAccessKeyId"
    forged = {"requestContext": {"authorizer": {"principal": "x", "roles": "admin", "patterns": "*"}}}
    called = []
    cloud.aws.lambdas.register(f"keys-{unique}", lambda event, context: called.append(event))
    assert code_of(fake_client(cloud, "lambda").invoke, FunctionName=f"keys-{unique}",
                   Payload=json.dumps(forged)) == "UnrecognizedClientException"
    assert code_of(fake_client(cloud, "sagemaker-runtime").invoke_endpoint, EndpointName="any",
                   Body=b"[[1]]", ContentType="application/json") == "UnrecognizedClientException"
    assert called == []


def test_the_right_key_id_with_a_wrong_secret_is_refused(cloud, unique):
    keys = {"aws_access_key_id": cloud.aws.credentials.access_key_id, "aws_secret_access_key": "guess"}
    assert code_of(fake_client(cloud, "dynamodb", **keys).list_tables) == "InvalidSignatureException"
    assert code_of(fake_client(cloud, "s3", **keys).list_buckets) == "SignatureDoesNotMatch"


def test_unsigned_sigv2_and_tampered_requests_are_refused(cloud, aws, bucket):
    plain = httpx.get(f"{cloud.url}/{bucket}")
    assert plain.status_code == 403 and b"MissingAuthenticationToken" in plain.content
    v2 = boto3.client("s3", endpoint_url=cloud.url, region_name="us-east-1", config=Config(signature_version="s3"),
                      **cloud.aws.credentials.boto3())
    assert code_of(v2.list_objects_v2, Bucket=bucket) == "InvalidRequest"
    target = "DynamoDB_20120810.ListTables"
    headers = signed(cloud, "POST", f"{cloud.url}/", service="dynamodb", body=b"{}",
                     headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    assert httpx.post(f"{cloud.url}/", content=b"{}", headers=headers).status_code == 200
    tampered = httpx.post(f"{cloud.url}/", content=b'{"Limit": 1}', headers=headers)
    assert tampered.status_code == 403 and b"InvalidSignatureException" in tampered.content
    stale = {**headers, "X-Amz-Date": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")}
    assert httpx.post(f"{cloud.url}/", content=b"{}", headers=stale).status_code == 403


def test_presigned_urls_work_until_they_expire_and_cannot_be_altered(cloud, aws, bucket):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=60)
    assert httpx.get(url).content == b"a"
    assert httpx.get(url.replace("/a?", "/b?")).status_code == 403  # another object, same signature
    short = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=1)
    time.sleep(2.1)
    expired = httpx.get(short)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_no_browser_gets_an_answer(cloud, aws, bucket):
    preflight = httpx.options(f"{cloud.url}/{bucket}", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
    url = aws("s3").generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    from_page = httpx.get(url, headers={"Origin": "https://evil.example"})
    assert from_page.status_code == 403 and "access-control-allow-origin" not in from_page.headers
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]  # moto's are dropped


def test_a_rebinding_host_is_refused_even_when_signed(cloud, aws, bucket):
    url = f"{cloud.url}/{bucket}"
    headers = signed(cloud, "GET", url, service="s3", headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    headers["Host"] = f"evil.example:{cloud.aws.port}"
    answer = httpx.get(url, headers=headers)
    assert answer.status_code == 403 and b"InvalidHost" in answer.content
    for host in ("127.0.0.1", "localhost"):  # loopback names pass the Host check
        ok = aws("s3") if host == "127.0.0.1" else boto3.client(
            "s3", endpoint_url=f"http://localhost:{cloud.aws.port}", region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}), **cloud.aws.credentials.boto3())
        assert ok.list_objects_v2(Bucket=bucket)["KeyCount"] >= 0


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_every_upload_path_checks_its_checksum(cloud, aws, bucket):
    s3 = aws("s3")
    good, evil = b"artifact", b"tampered"
    sha = b64(hashlib.sha256(good).digest())
    # PutObject with extra query parameters (e.g. a client-added id), signed for "s3"
    url = f"{cloud.url}/{bucket}/q?x-id=PutObject"
    headers = signed(cloud, "PUT", url, service="s3", body=evil, headers={
        "x-amz-checksum-sha256": sha, "x-amz-content-sha256": hashlib.sha256(evil).hexdigest()})
    answer = httpx.put(url, content=evil, headers=headers)
    assert answer.status_code == 400 and b"BadDigest" in answer.content
    # an upper-case service in the credential scope is still S3 (and still checked)
    url = f"{cloud.url}/{bucket}/upper"
    headers = signed(cloud, "PUT", url, service="S3", body=evil, headers={
        "x-amz-checksum-sha256": sha, "x-amz-content-sha256": hashlib.sha256(evil).hexdigest()})
    assert httpx.put(url, content=evil, headers=headers).status_code == 400
    # no Authorization header: refused before anything is stored
    assert httpx.put(f"{cloud.url}/{bucket}/anon", content=evil, headers={"x-amz-checksum-sha256": sha}).status_code == 403
    # Content-MD5
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="md5", Body=evil, ContentMD5=b64(hashlib.md5(good).digest()))
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="md5", Body=evil, ContentMD5="not base64!")
    assert caught.value.response["Error"]["Code"] == "InvalidDigest"
    # each part of a multipart upload
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", ChecksumAlgorithm="SHA256")["UploadId"]
    part = os.urandom(1024)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=part,
                       ChecksumSHA256=b64(hashlib.sha256(b"other").digest()))
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    done = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=part,
                          ChecksumSHA256=b64(hashlib.sha256(part).digest()))
    assert done["ETag"]
    for key in ("q", "upper", "anon", "md5"):  # none of the refused uploads was stored
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key=key)


def test_an_aws_chunked_upload_is_checked_against_its_trailer(cloud, bucket):
    data = b"x" * 100
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    wrong = b64(zlib.crc32(b"y").to_bytes(4, "big"))
    url = f"{cloud.url}/{bucket}/chunked"
    for checksum, status in ((wrong, 400), (crc, 200)):
        body = f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\nx-amz-checksum-crc32:{checksum}\r\n\r\n".encode()
        headers = signed(cloud, "PUT", url, service="s3", body=body, headers={
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "content-encoding": "aws-chunked",
            "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))})
        answer = httpx.put(url, content=body, headers=headers)
        assert answer.status_code == status, answer.text


def test_the_key_is_shown_on_request_and_kept_private(cloud):
    found = keyfile.read(cloud.settings.state_dir)
    assert found["aws_access_key_id"] == cloud.aws.credentials.access_key_id
    assert found["endpoint_url"] == cloud.url
    mode = (cloud.settings.state_dir / keyfile.FILE).stat().st_mode & 0o777
    assert mode == 0o600
    assert "secret" not in repr(cloud.aws.credentials)
    env = keyfile.environment(found)
    sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
