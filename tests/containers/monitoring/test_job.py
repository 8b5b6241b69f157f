"""The drift job end to end on files: captures in SageMaker's format, the version's
artifact with its baseline, labels → report.json, report.html, summary.json, window.csv."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_containers import artifact
from model_containers.monitoring import baseline, job
from model_containers.monitoring.captures import WindowReader, decode

FEATURES = ["tenure", "charges", "plan"]
START = datetime(2026, 3, 1, 10, tzinfo=UTC)


def training(n: int = 4_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"tenure": rng.integers(1, 72, n).astype(float), "charges": rng.normal(70, 15, n),
                         "plan": rng.choice(["basic", "pro"], n, p=[0.7, 0.3])})


def predict(frame: pd.DataFrame) -> np.ndarray:
    return (frame["charges"] > 80).astype(int).to_numpy()


def capture_line(body: dict | str, answer: dict, *, inference_id: str, at: datetime, csv: bool = False,
                 b64: bool = False) -> bytes:
    data = body if isinstance(body, str) else json.dumps(body)
    request = {"observedContentType": "text/csv" if csv else "application/json", "mode": "INPUT",
               "data": data, "encoding": "CSV" if csv else "JSON"}
    if b64:
        request.update(data=base64.b64encode(data.encode()).decode(), encoding="BASE64")
    record = {"captureData": {"endpointInput": request, "endpointOutput": {
        "observedContentType": "application/json", "mode": "OUTPUT", "data": json.dumps(answer), "encoding": "JSON"}},
        "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceId": inference_id,
                          "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")}, "eventVersion": "0"}
    return json.dumps(record).encode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A processing job's /opt/ml with the version's artifact (baseline included) in place."""
    train = training()
    model_dir = tmp_path / "artifact"
    model_dir.mkdir()
    (model_dir / "predictor.py").write_text("def predict(b):\n    return b\n")
    baseline.write(model_dir, baseline.profile(train, predictions=predict(train), labels=predict(train),
                                               target="churned", task="classification"))
    artifact.write_manifest(model_dir, framework="python", model_file="predictor.py", signature={"inputs": []})
    ml = tmp_path / "ml"
    (ml / job.MODEL).mkdir(parents=True)
    artifact.pack(model_dir, ml / job.MODEL / "model.tar.gz")
    write_config(ml, baseline_sha256=baseline.digest(model_dir))
    return ml


def write_config(ml: Path, **changes) -> None:
    config = {"run_id": "20260301-120000-abcdef", "model": "churn", "alias": "production", "version": "1.0.0",
              "endpoint": "mp-local-churn-production",
              "window": {"start": START.isoformat(), "end": (START + timedelta(hours=2)).isoformat()},
              "thresholds": {"min_samples": 100}, "metric": "accuracy", "history": [
                  {"run_id": "earlier", "time": "2026-02-28T12:00:00Z", "scores": {"charges": 0.01}, "live_metric": 0.9}],
              "window_dataset": True, **changes}
    (ml / job.CONFIG).mkdir(parents=True, exist_ok=True)
    (ml / job.CONFIG / "run.json").write_text(json.dumps(config))


def traffic(ml: Path, frame: pd.DataFrame, *, labels: bool = True) -> list[str]:
    """One request per row over two hours, as instances rows; labels for every other one."""
    ids, lines = [], []
    for i, row in enumerate(frame.itertuples(index=False)):
        inference_id = f"req-{i}"
        at = START + timedelta(seconds=i * 7200 // len(frame))
        body = {"instances": [[row.tenure, row.charges, row.plan]]}
        lines.append(capture_line(body, {"predictions": [int(row.charges > 80)]}, inference_id=inference_id, at=at))
        ids.append(inference_id)
    folder = ml / job.CAPTURES / "mp-local-churn-production" / "AllTraffic" / "2026" / "03" / "01" / "10"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "00-00-000-x.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    if labels:
        (ml / job.LABELS).mkdir(parents=True, exist_ok=True)
        truth = frame["charges"] > 90  # the world moved: the model's rule is now wrong sometimes
        (ml / job.LABELS / "labels.jsonl").write_text("".join(
            json.dumps({"inference_id": ids[i], "label": int(truth.iloc[i])}) + "\n" for i in range(0, len(ids), 2)))
    return ids


def test_a_shifted_feature_is_flagged_alone_and_the_report_shows_it(root):
    current = training(n=1_000, seed=1)
    current["charges"] += 25  # prices went up
    traffic(root, current)
    found = job.run(root)

    assert found["status"] == "drift" and found["drifted_features"] == ["charges"]
    assert found["records"] == found["rows"] == 1_000 and found["unreadable"] == 0
    assert found["statuses"] == {"tenure": "ok", "charges": "drift", "plan": "ok", "prediction": "drift"}
    out = root / job.REPORT
    report = json.loads((out / "report.json").read_text())
    charges = next(f for f in report["features"] if f["feature"] == "charges")
    assert {"psi", "ks", "wasserstein"} <= set(charges["drifted_by"])
    assert sum(charges["current"]["histogram"]) == 1_000 and len(charges["baseline"]["histogram"]["counts"]) == 20
    # drift score over time: the earlier run from the history, then this one
    assert [p["time"] for p in report["drift_over_time"]["charges"]] == ["2026-02-28T12:00:00Z", "2026-03-01T12:00:00Z"]
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "drift in <b>charges, prediction</b>" in page
    assert page.count("<svg") >= 5 and "http" not in page.split("<body>")[1]  # nothing fetched


def test_labels_give_the_live_metric_overall_and_per_hour(root):
    current = training(n=1_000, seed=2)
    traffic(root, current)
    found = job.run(root)
    live = json.loads((root / job.REPORT / "report.json").read_text())["live_metric"]
    rows = current.iloc[::2]
    expected = float(np.mean((rows["charges"] > 80).astype(int).to_numpy() == (rows["charges"] > 90).astype(int).to_numpy()))
    assert found["live_metric"] == {"metric": "accuracy", "value": pytest.approx(expected), "n": 500, "labels": 500}
    assert [p["time"] for p in live["series"]] == ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"]
    assert sum(p["n"] for p in live["series"]) == 500
    assert [p["value"] for p in live["over_time"]] == [0.9, pytest.approx(expected)]
    # the captured window plus labels, as a training table for a retrain
    window = pd.read_csv(root / job.REPORT / "window.csv")
    assert list(window.columns) == [*FEATURES, "churned"] and len(window) == 500
    assert found["window_dataset"] == "window.csv"


def test_fewer_rows_than_the_minimum_are_insufficient_data(root):
    current = training(n=40, seed=3)
    current["charges"] += 100
    traffic(root, current, labels=False)
    found = job.run(root)
    assert found["status"] == "insufficient_data" and found["drifted_features"] == []


def test_every_payload_format_reads_as_the_same_rows():
    profile = baseline.profile(training(n=200))
    reader = WindowReader(profile)
    at = START
    answer = {"predictions": [0]}
    bodies = [
        ({"instances": [[5.0, 70.5, "pro"]]}, False, False),
        ({"instances": [{"tenure": 5.0, "charges": 70.5, "plan": "pro"}]}, False, False),
        ({"dataframe_split": {"columns": ["plan", "tenure", "charges"], "data": [["pro", 5.0, 70.5]]}}, False, False),
        ({"dataframe_records": [{"tenure": 5, "charges": 70.5, "plan": "pro"}]}, False, False),
        ({"inputs": {"tenure": [5.0], "charges": [70.5], "plan": ["pro"]}}, False, False),
        ([[5.0, 70.5, "pro"]], False, True),
        ("5.0,70.5,pro\n", True, False),
        ("tenure,charges,plan\n5.0,70.5,pro\n", True, False),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES", "data": [5.0, 70.5, "pro"]}]}, False, False),
    ]
    reader.read_lines([capture_line(b, answer, inference_id=f"i{n}", at=at, csv=c, b64=b64)
                       for n, (b, c, b64) in enumerate(bodies)] + [b"not json", b'{"eventMetadata": {}}'])
    window = reader.window()
    assert window.rows == len(bodies) and window.unreadable == 2
    assert set(window.features["tenure"].tolist()) == {5.0} and set(window.features["charges"].tolist()) == {70.5}
    assert set(window.features["plan"].tolist()) == {"pro"}


def test_a_request_in_the_last_partial_second_is_in_the_window():
    profile = baseline.profile(training(n=200))
    end = START + timedelta(seconds=30, milliseconds=400)  # the run started 0.4 s into that second
    reader = WindowReader(profile, start=START, end=end)
    reader.read_lines([capture_line({"instances": [[1.0, 2.0, "pro"]]}, {"predictions": [1]}, inference_id="late",
                                    at=START + timedelta(seconds=30))])
    assert reader.window().inference_ids.tolist() == ["late"]


def test_captures_outside_the_window_are_left_out():
    profile = baseline.profile(training(n=200))
    reader = WindowReader(profile, start=START, end=START + timedelta(hours=1))
    lines = [capture_line({"instances": [[1.0, 2.0, "pro"]]}, {"predictions": [1]}, inference_id=str(h),
                          at=START + timedelta(minutes=m)) for h, m in enumerate((-1, 0, 59, 60))]
    reader.read_lines(lines)
    assert reader.window().inference_ids.tolist() == ["1", "2"] and reader.outside == 2


def test_a_baseline_that_does_not_match_its_lineage_fails_the_job_with_the_reason(root):
    write_config(root, baseline_sha256="0" * 64)
    traffic(root, training(n=200), labels=False)
    done = subprocess.run([sys.executable, "-m", "model_containers.monitoring"], env={"MODELPORT_ML_ROOT": str(root),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    message = (root / job.MESSAGE).read_text()
    assert "does not match the version's lineage" in message and not (root / job.REPORT / "report.json").exists()


def test_a_version_without_a_baseline_says_how_to_give_it_one(tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "predictor.py").write_text("x = 1\n")
    artifact.write_manifest(model_dir, framework="python", model_file="predictor.py", signature={})
    (tmp_path / "in").mkdir()
    artifact.pack(model_dir, tmp_path / "in" / "model.tar.gz")
    with pytest.raises(job.JobError, match="push --baseline"):
        job.load_baseline(tmp_path / "in", None)


def test_decode_reads_each_encoding():
    assert decode({"observedContentType": "application/json", "data": "[1]", "encoding": "JSON"}) == [1]
    assert decode({"observedContentType": "text/csv", "data": "1,2\n3,4\n", "encoding": "CSV"}) == [["1", "2"], ["3", "4"]]
    raw = base64.b64encode(b'{"a": 1}').decode()
    assert decode({"observedContentType": "application/json", "data": raw, "encoding": "BASE64"}) == {"a": 1}
