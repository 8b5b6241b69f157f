"""Drift monitoring end to end in local mode (monitor.asl.json in moto's interpreter, the
drift job as a processing-job process): traffic through the gateway is captured, labels
are posted for its inference ids, the drift job flags the shifted feature alone, the run
is recorded, metrics and `Model Drifted` are published, and policy `retrain` starts a
retrain that still goes through the model's approval policy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from functions.adapters.s3 import hex_to_b64
from functions.core import governance, registry
from functions.core.models import Lineage, ModelPolicy, NewModel, NewVersion, TrainingSpec
from functions.core.monitoring_policy import MonitoringPolicy
from model_containers import artifact
from model_containers.monitoring import baseline
from modelport.local.testing import wait_for
from tests.workflows.asl_requests import validated_tasks
from tests.workflows.local.conftest import APPROVER, CARD, PUBLISHER, deploy
from tests.workflows.local.test_retrain_workflow import ADMIN

RNG = np.random.default_rng(0)


def training_frame(n: int = 2_000) -> pd.DataFrame:
    return pd.DataFrame({"x1": RNG.normal(10, 2, n), "x2": RNG.uniform(0, 5, n)})


def monitored_version(platform, deps, tmp_path: Path, model: str, version: str = "1.0.0") -> str:
    """A python model (prediction = x1 + x2) with a baseline of its training data, approved."""
    frame = training_frame()
    model_dir = tmp_path / f"{model}-{version}"
    model_dir.mkdir(parents=True)
    (model_dir / "predictor.py").write_text(
        "import numpy as np\n\ndef load(model_dir):\n    pass\n\n"
        "def predict(batch):\n    return np.asarray(batch, dtype=float).sum(axis=1)\n")
    baseline.write(model_dir, baseline.profile(frame, predictions=frame.sum(axis=1), task="regression"))
    artifact.write_manifest(model_dir, framework="python", model_file="predictor.py", signature={"inputs": [
        {"name": "x1", "dtype": "float64", "shape": [-1]}, {"name": "x2", "dtype": "float64", "shape": [-1]}]})
    packed = artifact.pack(model_dir, tmp_path / f"{model}-{version}.tar.gz")
    published = registry.publish_version(deps, PUBLISHER, model, NewVersion(
        version=version, sha256=packed.sha256, size=packed.size, card=CARD, metrics={"mae": 1.0},
        lineage=Lineage(baseline_sha256=baseline.digest(model_dir)))).version
    platform.client("s3").put_object(
        Bucket=platform.names.artifacts_bucket, Key=published.artifact.uri.split("/", 3)[3],
        Body=packed.path.read_bytes(), ChecksumAlgorithm="SHA256", ChecksumSHA256=hex_to_b64(packed.sha256))
    governance.submit(deps, PUBLISHER, model, version)
    governance.approve(deps, APPROVER, model, version)
    return version


@pytest.fixture(scope="module")
def watched(platform, tmp_path_factory):
    """A deployed model whose policy retrains on drift from a reference dataset."""
    from functions.adapters import wiring

    deps = wiring.deps()
    name = f"watch-{hashlib.sha256(str(tmp_path_factory.getbasetemp()).encode()).hexdigest()[:6]}"
    reference = f"datasets/{name}/reference/train.csv"
    table = training_frame(200).assign(y=lambda f: f.x1 + f.x2)
    platform.client("s3").put_object(Bucket=platform.names.datasets_bucket, Key=reference,
                                     Body=table.to_csv(index=False).encode())
    registry.create_model(deps, ADMIN, NewModel(
        name=name, owner="alice", framework="sklearn",
        policy=ModelPolicy(metric="mae", metric_direction="minimize", allow_code=True, monitoring=MonitoringPolicy(
            schedule="rate(5 minutes)", window_hours=1, min_samples=50, on_drift="retrain",
            retrain_dataset=reference, ground_truth=True)),
        training=TrainingSpec(trainer="tabular", hyperparameters={"target": "y"},
                              dataset_prefix=f"datasets/{name}/incoming/")))
    monitored_version(platform, deps, tmp_path_factory.mktemp("watched"), name)
    return name


def send(api, model: str, frame: pd.DataFrame) -> list[str]:
    ids = []
    for row in frame.itertuples(index=False):
        answer = api.post(f"/v1/models/{model}/invocations", json={"instances": [[row.x1, row.x2]]})
        assert answer.status_code == 200, answer.text
        ids.append(answer.headers["x-modelport-inference-id"])
    return ids


def run_to_end(api, model: str, **body) -> dict:
    started = api.post(f"/v1/models/{model}/monitoring/runs", json=body)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    return wait_for(lambda: (r := api.get(f"/v1/models/{model}/monitoring/runs/{run_id}").json())["status"]
                    in ("succeeded", "failed") and r, 120, 0.25, f"drift run {run_id}")


def test_drifted_traffic_is_flagged_reported_announced_and_retrains(platform, api, events, watched):
    deployed = deploy(api, watched, "1.0.0")
    assert deployed["status"] == "succeeded", deployed
    # the deployment scheduled the alias's drift monitoring from the policy
    scheduled = platform.client("scheduler").get_schedule(Name=f"{watched}-production",
                                                          GroupName=platform.names.schedule_group)
    assert scheduled["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(scheduled["Target"]["Input"]) == {"model": watched, "alias": "production", "source": "schedule"}

    current = training_frame(300)
    current["x1"] += 6  # three standard deviations: the world moved on x1, not on x2
    ids = send(api, watched, current)
    platform.cloud.sagemaker.capture.flush()

    # ground truth for half the requests (the indexer needs a moment to see the captures)
    labels = [{"inference_id": i, "label": float(x1 + x2 + 1.0)}
              for i, x1, x2 in zip(ids[::2], current.x1[::2], current.x2[::2], strict=True)]
    posted = wait_for(lambda: (r := api.post(f"/v1/models/{watched}/feedback", json={"labels": labels[:100]}))
                      .status_code == 200 and r, 30, 0.3, "labels to be accepted")
    assert posted.json() == {"accepted": 100, "unchanged": 0}
    again = api.post(f"/v1/models/{watched}/feedback", json={"labels": labels[50:]})
    assert again.json() == {"accepted": 50, "unchanged": 50}  # idempotent: the first 50 were there

    run = run_to_end(api, watched)
    assert run["status"] == "succeeded", run
    # the CreateProcessingJob request, resolved from the run's state input, is valid for botocore's model
    sfn = platform.client("stepfunctions")
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                   if m["name"] == platform.names.monitor_state_machine)
    [execution] = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"] == run["id"]]
    assert "CreateProcessingJob" in validated_tasks(sfn, execution["executionArn"])
    assert (run["outcome"], run["drifted_features"]) == ("drift", ["x1"])
    assert run["statuses"]["x2"] == "ok" and run["rows"] == 300 and run["records"] == 300
    assert run["live_metric"] == {"metric": "mae", "value": pytest.approx(1.0), "n": 150, "labels": 150}
    assert run["action"] == "retrain_started" and run["retrain_id"]

    report = api.get(f"/v1/models/{watched}/monitoring/reports/{run['id']}").json()
    assert report["report"]["drifted_features"] == ["x1"]
    page = httpx.get(report["html_url"])
    assert page.status_code == 200 and "drift in <b>x1" in page.text and "<svg" in page.text

    drifted = [e["detail"] for e in events() if e["detail-type"] == "Model Drifted" and e["detail"]["model"] == watched]
    assert len(drifted) == 1 and drifted[0]["drifted_features"] == ["x1"]
    assert drifted[0]["retrain_id"] == run["retrain_id"] and drifted[0]["report"].endswith("report.html")

    metrics = platform.client("cloudwatch").list_metrics(Namespace="Modelport/Monitoring", MetricName="FeatureDrift")
    mine = [m["Dimensions"] for m in metrics["Metrics"] if {"Name": "Model", "Value": watched} in m["Dimensions"]]
    features = {d["Value"] for dims in mine for d in dims if d["Name"] == "Feature"}
    assert {"x1", "x2", "prediction"} <= features

    # the retrain trains on the policy's dataset and goes through the approval policy: a
    # better version is submitted for approval, never deployed by the drift
    retrain = wait_for(lambda: (r := api.get(f"/v1/models/{watched}/retrains/{run['retrain_id']}").json())["status"]
                       in ("succeeded", "failed") and r, 120, 0.5, "the drift's retrain")
    # the policy's dataset, copied into the model's dataset prefix (the trigger started it)
    assert retrain["dataset"]["key"] == f"datasets/{watched}/incoming/drift/{run['id']}/train.csv"
    reference = platform.client("s3").get_object(Bucket=platform.names.datasets_bucket,
                                                 Key=f"datasets/{watched}/reference/train.csv")["Body"].read()
    assert retrain["dataset"]["sha256"] == hashlib.sha256(reference).hexdigest()
    assert retrain["outcome"] in ("submitted", "rejected_by_evaluation", "registered"), retrain
    assert api.get(f"/v1/models/{watched}/aliases").json()["items"][0]["version"] == "1.0.0"
    audit = [e["action"] for e in api.get("/v1/audit", params={"chain": watched, "limit": 100}).json()["items"]]
    assert "monitoring.drift" in audit and "monitoring.start" in audit and "retrain.start" in audit

    status = api.get(f"/v1/models/{watched}/monitoring").json()
    [production] = [a for a in status["aliases"] if a["alias"] == "production"]
    assert production["latest"]["id"] == run["id"] and production["schedule"] == "rate(5 minutes)"
    assert [p["value"] for p in production["drift"]["x1"]] == [pytest.approx(run["scores"]["x1"])]
    assert production["live_metric"][0]["value"] == pytest.approx(1.0)


def test_a_captured_window_with_its_labels_is_the_retrains_dataset(platform, api, watched):
    """`retrain_data: captured_window` (after the test above, whose drifted, half-labelled
    traffic is still in the window): the window's labelled rows, features and the training
    spec's target, are what the retrain trains on."""
    from modelport.client import Client

    with Client(platform.api_url, platform.admin_key) as admin:
        admin.models.update(watched, {"policy": {"monitoring": {"retrain_data": "captured_window"}}})
    run = run_to_end(api, watched)
    assert (run["status"], run["outcome"], run["action"]) == ("succeeded", "drift", "retrain_started"), run
    retrain = wait_for(lambda: (r := api.get(f"/v1/models/{watched}/retrains/{run['retrain_id']}").json())["status"]
                       in ("succeeded", "failed") and r, 120, 0.5, "the window's retrain")
    assert retrain["dataset"]["key"] == f"datasets/{watched}/incoming/drift/{run['id']}/window.csv"
    body = platform.client("s3").get_object(Bucket=platform.names.datasets_bucket, Key=retrain["dataset"]["key"])
    table = pd.read_csv(body["Body"])
    assert list(table.columns) == ["x1", "x2", "y"] and len(table) == 150  # the labelled half
    np.testing.assert_allclose(table.y, table.x1 + table.x2 + 1.0, atol=1e-9)  # the labels posted
    assert table.x1.mean() > 14  # the drifted traffic, not the training data (mean 10)
    assert retrain["outcome"] in ("submitted", "rejected_by_evaluation", "registered"), retrain


def test_the_schedule_starts_runs_and_feedback_refuses_what_was_not_captured(platform, api, watched):
    if api.get(f"/v1/models/{watched}/aliases").json()["items"][0].get("endpoint") is None:
        deploy(api, watched, "1.0.0")
    schedule = platform.client("scheduler").get_schedule(Name=f"{watched}-production",
                                                         GroupName=platform.names.schedule_group)
    before = {r["id"] for r in _runs(api, watched)}
    fired = platform.scheduler.tick(schedule["LastModificationDate"].timestamp() + 301)
    assert f"{watched}-production" in fired
    new = wait_for(lambda: [r for r in _runs(api, watched) if r["id"] not in before and r["status"] in
                            ("succeeded", "failed")], 120, 0.25, "the scheduled run")
    assert new[0]["source"] == "schedule" and new[0]["status"] == "succeeded", new[0]

    unknown = api.post(f"/v1/models/{watched}/feedback", json={"labels": [{"inference_id": "no-such-id", "label": 1}]})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "UnknownInferenceId"
    assert unknown.json()["error"]["fields"][0]["path"] == "body.labels[0].inference_id"
    [one] = send(api, watched, training_frame(1))
    platform.cloud.sagemaker.capture.flush()
    wait_for(lambda: api.post(f"/v1/models/{watched}/feedback",
                              json={"labels": [{"inference_id": one, "label": 1.0}]}).status_code == 200, 30, 0.3)
    clash = api.post(f"/v1/models/{watched}/feedback", json={"labels": [{"inference_id": one, "label": 2.0}]})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "LabelConflict"
    twice = api.post(f"/v1/models/{watched}/feedback", json={"labels": [{"inference_id": one, "label": 1.0},
                                                                         {"inference_id": one, "label": 3.0}]})
    assert twice.status_code == 400


def test_runs_are_refused_or_judge_nothing_when_there_is_nothing_to_judge(platform, api, deps, publish, unique):
    name = f"quiet-{unique}"
    publish(name, "1.0.0")  # no baseline
    assert api.post(f"/v1/models/{name}/monitoring/runs", json={}).status_code == 404  # no alias yet
    deploy(api, name, "1.0.0")
    refused = api.post(f"/v1/models/{name}/monitoring/runs", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "BaselineMissing"
    assert "push --baseline" in refused.json()["error"]["message"]
    assert api.post(f"/v1/models/{name}/monitoring/runs", json={"alias": "Bad Alias"}).status_code == 400


def test_a_window_without_traffic_is_insufficient_data(platform, api, deps, tmp_path, unique):
    name = f"idle-{unique}"
    registry.create_model(deps, ADMIN, NewModel(name=name, owner="alice", framework="python",
                                                policy=ModelPolicy(allow_code=True)))
    monitored_version(platform, deps, tmp_path, name)
    deploy(api, name, "1.0.0")
    run = run_to_end(api, name, window_hours=1)
    assert (run["status"], run["outcome"], run["records"], run["action"]) == (
        "succeeded", "insufficient_data", 0, "none"), run
    assert run["processing_job"] is None  # nothing captured: no job was started


def _runs(api, model: str) -> list[dict]:
    status = api.get(f"/v1/models/{model}/monitoring").json()
    return [dict(h, source=_source(api, model, h["id"])) for a in status["aliases"] for h in a["history"]]


def _source(api, model: str, run_id: str) -> str:
    return api.get(f"/v1/models/{model}/monitoring/runs/{run_id}").json()["source"]

