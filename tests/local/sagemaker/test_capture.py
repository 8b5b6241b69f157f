"""Data capture: local endpoints write SageMaker's JSON Lines records, under SageMaker's
key layout, at the configured sampling percentage.

The format is pinned against the record SageMaker documents in "Capture data from
real-time endpoint" (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html):
the sample below is that page's, and a local record must have exactly its structure.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

from modelport.local.sagemaker.capture import CaptureConfig, CaptureWriter

#: the documented sample record (a CSV request answered in CSV), as the page shows it.
DOCUMENTED = json.loads(
    '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
    '"data":"69,0,153.7,109,194.0\\n","encoding":"CSV"},"endpointOutput":{"observedContentType":'
    '"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.0254181120544672","encoding":"CSV"}},'
    '"eventMetadata":{"eventId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","inferenceTime":'
    '"2022-02-14T17:25:49Z"},"eventVersion":"0"}'
)
#: `s3://<destination>/{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/filename.jsonl` (same page);
#: SageMaker names the file `<mm>-<ss>-<ms>-<uuid>.jsonl`.
KEY = re.compile(
    r"^(?P<prefix>.+)/(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/"
    r"\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$"
)
CAPTURE_TYPES = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


def structure(value):
    """The shape of a record: keys (recursively) and the constant fields' values."""
    if isinstance(value, dict):
        return {k: structure(v) if k not in ("mode", "encoding", "eventVersion") else v
                for k, v in value.items()}
    return type(value).__name__


def captured(cloud, aws, bucket: str, prefix: str) -> list[tuple[str, dict]]:
    cloud.sagemaker.capture.flush()
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return [(key, json.loads(line)) for key in sorted(keys)
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]


def config(bucket: str, prefix: str, percent: int = 100, **extra) -> dict:
    return {"EnableCapture": True, "InitialSamplingPercentage": percent,
            "DestinationS3Uri": f"s3://{bucket}/{prefix}",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}], **extra}


def test_records_have_the_documented_format_and_key_layout(cloud, aws, bucket, runtime, endpoints, model, unique):
    name = f"cap-{unique}"
    endpoints(name, model("cap", data_capture=config(bucket, "captures", CaptureContentTypeHeader=CAPTURE_TYPES)))
    runtime.invoke_endpoint(EndpointName=name, Body=b"1,2\n", ContentType="text/csv", Accept="text/csv")
    runtime.invoke_endpoint(EndpointName=name, Body=b'{"instances": [[3, 4]]}', ContentType="application/json",
                            InferenceId="order-42")

    records = captured(cloud, aws, bucket, "captures/")
    assert len(records) == 2
    for key, _ in records:
        match = KEY.match(key)
        assert match and match["prefix"] == "captures" and match["endpoint"] == name, key
        assert match["variant"] == "AllTraffic"
    (_, csv), (_, js) = records
    assert structure(csv) == structure(DOCUMENTED)
    assert csv["captureData"]["endpointInput"]["data"] == "1,2\n"
    assert csv["captureData"]["endpointOutput"]["data"].strip() == "3.0"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", csv["eventMetadata"]["inferenceTime"])
    # InvokeEndpoint's InferenceId "is added to the captured data" (eventMetadata.inferenceId)
    assert js["eventMetadata"]["inferenceId"] == "order-42" and "inferenceId" not in csv["eventMetadata"]
    assert js["captureData"]["endpointInput"] == {
        "observedContentType": "application/json", "mode": "INPUT",
        "data": '{"instances": [[3, 4]]}', "encoding": "JSON"}
    assert json.loads(js["captureData"]["endpointOutput"]["data"]) == {"predictions": [7.0]}
    assert csv["eventMetadata"]["eventId"] != js["eventMetadata"]["eventId"]
    for event_id in (csv["eventMetadata"]["eventId"], js["eventMetadata"]["eventId"]):  # random UUIDs, as AWS's
        assert str(uuid.UUID(event_id)) == event_id and uuid.UUID(event_id).version == 4


def test_without_content_type_headers_everything_is_base64(cloud, aws, bucket, runtime, endpoints, model, unique):
    name = f"b64-{unique}"
    endpoints(name, model("b64", data_capture=config(bucket, "raw")))
    runtime.invoke_endpoint(EndpointName=name, Body=b"[[1, 1]]", ContentType="application/json")
    [(_, record)] = captured(cloud, aws, bucket, "raw/")
    request = record["captureData"]["endpointInput"]
    assert request["encoding"] == "BASE64" and base64.b64decode(request["data"]) == b"[[1, 1]]"
    assert record["captureData"]["endpointOutput"]["encoding"] == "BASE64"


def test_capture_options_choose_input_or_output_and_disabled_capture_writes_nothing(
    cloud, aws, bucket, runtime, endpoints, model, unique
):
    only_input = config(bucket, "in", CaptureOptions=[{"CaptureMode": "Input"}])
    endpoints(f"in-{unique}", model("in", data_capture=only_input))
    endpoints(f"off-{unique}", model("off", data_capture={**config(bucket, "off"), "EnableCapture": False}))
    for name in (f"in-{unique}", f"off-{unique}"):
        runtime.invoke_endpoint(EndpointName=name, Body=b"[[1, 1]]", ContentType="application/json")
    [(_, record)] = captured(cloud, aws, bucket, "in/")
    assert list(record["captureData"]) == ["endpointInput"]
    assert captured(cloud, aws, bucket, "off/") == []


def test_failed_invocations_are_not_captured(cloud, aws, bucket, runtime, endpoints, model, unique):
    name = f"fail-{unique}"
    endpoints(name, model("fail", data_capture=config(bucket, "fail")))
    with pytest.raises(runtime.exceptions.ModelError):
        runtime.invoke_endpoint(EndpointName=name, Body=b"[[-1, 1]]", ContentType="application/json")
    assert captured(cloud, aws, bucket, "fail/") == []


# --- sampling (the writer alone) ------------------------------------------------------------


def lines(s3, bucket: str) -> dict[str, int]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read().count(b"\n") for key in keys}


def test_the_sampling_percentage_is_the_share_of_requests_captured(aws, bucket):
    import random

    writer = CaptureWriter(lambda: aws("s3"), random_=random.Random(7).random)
    twenty = CaptureConfig.parse(config(bucket, "p", percent=20))
    kept = sum(writer.submit("e", "AllTraffic", twenty, b"{}", "application/json", b"{}", "application/json", None)
               for _ in range(5_000))
    assert 900 < kept < 1100  # 20 % of 5,000, give or take sampling noise (σ ≈ 28)
    assert writer.flush() == kept
    assert sum(lines(aws("s3"), bucket).values()) == kept and writer.written == kept
    assert CaptureConfig.parse(config(bucket, "p", percent=0)) is None
    everything = CaptureConfig.parse(config(bucket, "p", percent=100))
    assert all(writer.submit("e", "v", everything, b"", None, b"", None, None) for _ in range(100))


def test_one_object_per_endpoint_variant_and_hour(aws, bucket):
    times = iter([0.0, 10.0, 3_600.0, 3_601.0])
    writer = CaptureWriter(lambda: aws("s3"), clock=lambda: next(times))
    cfg = CaptureConfig.parse(config(bucket, "root/x"))
    for _ in range(4):
        writer.submit("ep", "AllTraffic", cfg, b"{}", "application/json", b"{}", "application/json", "id")
    writer.flush()
    found = lines(aws("s3"), bucket)
    assert sorted(k.rsplit("/", 1)[0] for k in found) == ["root/x/ep/AllTraffic/1970/01/01/00",
                                                          "root/x/ep/AllTraffic/1970/01/01/01"]
    assert set(found.values()) == {2}
