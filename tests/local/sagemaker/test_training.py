"""Training jobs as training-entry processes: channels from S3, hyperparameters, the model
uploaded back, failure reasons, stopping; and the trained model served by an endpoint."""

from __future__ import annotations

import io
import tarfile

import pytest

from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN, wait_for
from tests.local.sagemaker.conftest import predict

TRAIN_PY = """
import csv
import time


def train(ctx):
    if ctx.hp("fail"):
        raise RuntimeError(f"asked to fail: {ctx.hp('fail')}")
    time.sleep(float(ctx.hp("sleep", 0)))
    with open(next(ctx.channel("train").glob("*.csv"))) as handle:
        rows = list(csv.DictReader(handle))
    offset = ctx.hp("offset") + len(rows)
    (ctx.model_dir / "predictor.py").write_text(
        "import numpy as np\\n"
        "def load(model_dir):\\n    pass\\n"
        f"def predict(batch):\\n    return np.asarray(batch, dtype=float).sum(axis=1) + {offset}\\n"
    )
    ctx.log(f"trained on {len(rows)} rows")
    return {"framework": "python", "model_file": "predictor.py",
            "metrics": {"rows": len(rows), "offset": offset}}
"""


def job_args(name: str, bucket: str, image: str = MODELPORT_IMAGE, **hyperparameters: str) -> dict:
    channels = {"train": "datasets/churn/", "code": "code/"}
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": {"offset": "2.5", **hyperparameters},
        "InputDataConfig": [
            {"ChannelName": channel, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}"}}}
            for channel, prefix in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/training"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def finished(sm, name: str, timeout: float = 60) -> dict:
    def done():
        job = sm.describe_training_job(TrainingJobName=name)
        return job if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") else None

    return wait_for(done, timeout, 0.1, f"training job {name}")


@pytest.fixture
def dataset(aws, bucket) -> str:
    """Three rows of data and the training code, as the job's two channels."""
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="datasets/churn/part-1.csv", Body=b"x1,y\n1,0\n2,1\n3,0\n")
    s3.put_object(Bucket=bucket, Key="code/train.py", Body=TRAIN_PY.encode())
    return bucket


def test_a_training_job_trains_uploads_and_its_model_serves(
    cloud, aws, sm, runtime, endpoints, dataset, unique
):
    name = f"train-{unique}"
    sm.create_training_job(**job_args(name, dataset))
    job = finished(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job["SecondaryStatus"] == "Completed"
    assert job["TrainingTimeInSeconds"] >= 1
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{dataset}/training/{name}/output/model.tar.gz"
    # "2.5" reached the code as a number (SM_HPS), the 3 rows from the train channel.
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics == {"rows": 3.0, "offset": 5.5}
    archive = aws("s3").get_object(Bucket=dataset, Key=f"training/{name}/output/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive["Body"].read())) as tar:
        assert {"modelport.json", "predictor.py", "metrics.json"} <= set(tar.getnames())
    log = cloud.settings.state_dir / "sagemaker" / "training" / name / "training.log"
    assert "trained on 3 rows" in log.read_text()

    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN,
                    PrimaryContainer={"Image": MODELPORT_IMAGE, "ModelDataUrl": uri})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    assert endpoints(name, name)["EndpointStatus"] == "InService"
    assert predict(runtime, name, [[1, 2]]) == [8.5]


def test_a_failing_job_reports_the_reason_its_container_wrote(sm, dataset, unique):
    name = f"fail-{unique}"
    sm.create_training_job(**job_args(name, dataset, fail="yes"))
    job = finished(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["SecondaryStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: RuntimeError: asked to fail: yes"
    assert "ModelArtifacts" not in job


def test_an_image_that_needs_docker_fails_the_job(sm, dataset, unique):
    name = f"docker-{unique}"
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    sm.create_training_job(**job_args(name, dataset, image=image))
    job = finished(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "sagemaker-xgboost" in job["FailureReason"] and "no Docker" in job["FailureReason"]


def test_a_stopped_job_ends_stopped_and_names_must_be_unique(cloud, sm, dataset, unique):
    name = f"stop-{unique}"
    sm.create_training_job(**job_args(name, dataset, sleep="30"))
    wait_for(lambda: cloud.launcher.matching(f"/{name}/"), 30, 0.02, what="the job's process")
    sm.stop_training_job(TrainingJobName=name)
    job = finished(sm, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert all(p.poll() is not None for p in cloud.launcher.matching(f"/{name}/"))
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_training_job(**job_args(name, dataset))
    with pytest.raises(sm.exceptions.ClientError) as again:
        sm.stop_training_job(TrainingJobName=name)
    assert "status Stopped" in again.value.response["Error"]["Message"]
