"""Processing jobs: inputs downloaded into their LocalPath (S3Prefix and ManifestFile), the
image's module run as a process, outputs uploaded on success, ExitMessage on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from model_containers import artifact
from model_containers.monitoring import baseline
from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN, wait_for


def job_request(name: str, bucket: str, inputs: list[dict], image: str = MODELPORT_IMAGE) -> dict:
    return {
        "ProcessingJobName": name, "RoleArn": ROLE_ARN,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 10}},
        "AppSpecification": {"ImageUri": image, "ContainerArguments": ["monitor"]},
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "report", "S3Output": {
            "S3Uri": f"s3://{bucket}/out/{name}", "LocalPath": "/opt/ml/processing/output/report",
            "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }  # fmt: skip


def s3_input(name: str, uri: str, local: str, kind: str = "S3Prefix") -> dict:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": kind,
                                           "S3InputMode": "File"}}


def finished(sm, name: str) -> dict:
    return wait_for(lambda: (d := sm.describe_processing_job(ProcessingJobName=name))["ProcessingJobStatus"]
                    not in ("InProgress", "Stopping") and d, 120, 0.1, f"processing job {name}")


@pytest.fixture
def staged(aws, bucket, tmp_path: Path, unique: str) -> list[dict]:
    """A drift job's inputs in S3: run.json, two capture files (listed in a manifest), the model."""
    import numpy as np
    import pandas as pd

    s3 = aws("s3")
    train = pd.DataFrame({"x": np.arange(500, dtype=float) % 50})
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text("x = 1\n")
    baseline.write(model, baseline.profile(train))
    artifact.write_manifest(model, framework="python", model_file="predictor.py", signature={})
    packed = artifact.pack(model, tmp_path / "model.tar.gz")
    s3.upload_file(str(packed.path), bucket, f"models/{unique}/model.tar.gz")
    run = {"run_id": unique, "model": "m", "alias": "production", "version": "1.0.0",
           "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
           "thresholds": {"min_samples": 10}, "metric": "accuracy", "history": []}
    s3.put_object(Bucket=bucket, Key=f"runs/{unique}/run.json", Body=json.dumps(run))
    line = {"captureData": {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                                              "data": "[[1.0]]", "encoding": "JSON"}},
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-01-01T10:00:00Z"}, "eventVersion": "0"}
    keys = [f"captures/ep/AllTraffic/2026/01/01/{h}/00-00-000-a.jsonl" for h in ("10", "11")]
    for key in (*keys, "captures/ep/AllTraffic/2026/01/03/00/00-00-000-b.jsonl"):  # the last: outside the manifest
        s3.put_object(Bucket=bucket, Key=key, Body=(json.dumps(line) + "\n") * 20)
    manifest = [{"prefix": f"s3://{bucket}/captures/"}, *[k.removeprefix("captures/") for k in keys]]
    s3.put_object(Bucket=bucket, Key=f"runs/{unique}/manifest.json", Body=json.dumps(manifest))
    return [
        s3_input("config", f"s3://{bucket}/runs/{unique}/run.json", "/opt/ml/processing/input/config"),
        s3_input("captures", f"s3://{bucket}/runs/{unique}/manifest.json", "/opt/ml/processing/input/captures",
                 "ManifestFile"),
        s3_input("model", f"s3://{bucket}/models/{unique}/model.tar.gz", "/opt/ml/processing/input/model"),
    ]


def test_a_processing_job_runs_the_drift_job_and_uploads_its_outputs(cloud, aws, bucket, staged, unique):
    sm, s3 = aws("sagemaker"), aws("s3")
    name = f"drift-{unique}"
    assert sm.create_processing_job(**job_request(name, bucket, staged))["ProcessingJobArn"].endswith(name)
    described = finished(sm, name)
    assert described["ProcessingJobStatus"] == "Completed", described
    assert described["ProcessingStartTime"] <= described["ProcessingEndTime"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"out/{name}/")["Contents"]}
    assert keys == {f"out/{name}/{f}" for f in ("report.json", "report.html", "summary.json")}
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"out/{name}/summary.json")["Body"].read())
    assert summary["records"] == 40  # the two files the manifest names, not the third
    root = cloud.sagemaker.processing._root / name / "ml" / "processing" / "input"
    assert sorted(p.relative_to(root / "captures").as_posix() for p in (root / "captures").rglob("*.jsonl")) == [
        "ep/AllTraffic/2026/01/01/10/00-00-000-a.jsonl", "ep/AllTraffic/2026/01/01/11/00-00-000-a.jsonl"]
    with pytest.raises(ClientError) as busy:
        sm.create_processing_job(**job_request(name, bucket, staged))
    assert busy.value.response["Error"]["Code"] == "ResourceInUse"


def test_a_failing_job_reports_its_exit_message_and_uploads_nothing(aws, bucket, staged, unique):
    sm, s3 = aws("sagemaker"), aws("s3")
    name = f"fail-{unique}"
    sm.create_processing_job(**job_request(name, bucket, staged[1:]))  # no run.json
    described = finished(sm, name)
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("AlgorithmError")
    assert "run.json is missing or malformed" in described["ExitMessage"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"out/{name}/")


def test_requests_local_mode_cannot_run_are_refused_or_fail_clearly(aws, bucket, staged, unique):
    sm = aws("sagemaker")
    outside = [s3_input("x", f"s3://{bucket}/runs/", "/tmp/elsewhere")]
    with pytest.raises(ClientError) as refused:
        sm.create_processing_job(**job_request(f"bad-{unique}", bucket, outside))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "/opt/ml/processing" in refused.value.response["Error"]["Message"]
    name = f"docker-{unique}"
    sm.create_processing_job(**job_request(name, bucket, staged, image="public.ecr.aws/other/image:1"))
    described = finished(sm, name)
    assert described["ProcessingJobStatus"] == "Failed" and "Docker" in described["FailureReason"]
    with pytest.raises(ClientError) as missing:
        sm.describe_processing_job(ProcessingJobName=f"nope-{unique}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as stopped:
        sm.stop_processing_job(ProcessingJobName=name)
    assert "in status Failed" in stopped.value.response["Error"]["Message"]
