"""The drift job: one window of captures against the version's baseline.

It runs as a SageMaker Processing job on Modelport's CPU image (locally: a process the
local SageMaker starts, as training jobs are) and touches no AWS API: SageMaker downloads
its inputs and uploads its outputs. Layout under `/opt/ml` (`MODELPORT_ML_ROOT`):

    processing/input/config/run.json     what to do (docs/contracts.md, "Drift job")
    processing/input/captures/...        the window's capture files (any depth)
    processing/input/model/model.tar.gz  the version's artifact (its baseline.json)
    processing/input/labels/*.jsonl      labels posted for captured inference ids
    processing/output/report/            report.json, report.html, summary.json
                                         and, when asked, window.csv (features + labels)
    output/message                       why the job failed (DescribeProcessingJob.ExitMessage)
"""

from __future__ import annotations

import csv
import hashlib
import json
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from model_containers.monitoring import baseline as baselines
from model_containers.monitoring import drift, quality
from model_containers.monitoring.captures import Window, WindowReader
from model_containers.monitoring.html import render
from model_containers.monitoring.report import build_report, summary

#: the job's ProcessingInput/Output LocalPaths, relative to /opt/ml (the workflow uses them).
CONFIG, CAPTURES, MODEL, LABELS = ("processing/input/config", "processing/input/captures",
                                   "processing/input/model", "processing/input/labels")
REPORT = "processing/output/report"
MESSAGE = "output/message"


class JobError(Exception):
    """The job cannot run; the message becomes the job's ExitMessage."""


@dataclass(frozen=True)
class RunConfig:
    run_id: str
    model: str
    alias: str
    version: str
    window_start: datetime
    window_end: datetime
    thresholds: drift.Thresholds
    metric: str
    baseline_sha256: str | None
    history: list[dict[str, Any]]
    window_dataset: bool
    endpoint: str | None = None
    #: the target column the model's retrains read (its training spec), for window.csv
    target: str | None = None

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        try:
            raw = json.loads(path.read_text())
            t = raw.get("thresholds") or {}
            return cls(
                run_id=raw["run_id"], model=raw["model"], alias=raw["alias"], version=raw["version"],
                window_start=_time(raw["window"]["start"]), window_end=_time(raw["window"]["end"]),
                thresholds=drift.Thresholds(**{k: v for k, v in t.items() if k in drift.Thresholds.__dataclass_fields__}),
                metric=raw.get("metric", "accuracy"), baseline_sha256=raw.get("baseline_sha256"),
                history=list(raw.get("history") or []), window_dataset=bool(raw.get("window_dataset")),
                endpoint=raw.get("endpoint"), target=raw.get("target") or None,
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JobError(f"{path.name} is missing or malformed: {exc}") from None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def run(root: Path) -> dict[str, Any]:
    """Run the job under `root` (SageMaker's /opt/ml); returns the summary it wrote."""
    config = RunConfig.read(root / CONFIG / "run.json")
    profile = load_baseline(root / MODEL, config.baseline_sha256)
    files = sorted(p for p in (root / CAPTURES).rglob("*") if p.is_file())
    window = WindowReader(profile, start=config.window_start, end=config.window_end).read_files(files).window()
    labels = read_labels(root / LABELS)
    result = analyse(profile, window, labels, config)
    out = root / REPORT
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(config, profile, window, result)
    (out / "report.json").write_text(json.dumps(report, allow_nan=False))
    (out / "report.html").write_text(render(report))
    if config.window_dataset and result.joined:
        write_window_dataset(out / "window.csv", profile, window, labels, target=config.target)
    found = summary(report, window_dataset="window.csv" if (out / "window.csv").exists() else None)
    (out / "summary.json").write_text(json.dumps(found, allow_nan=False))
    return found


def load_baseline(model_dir: Path, lineage_sha256: str | None) -> dict[str, Any]:
    """The baseline from the version's artifact, checked against its manifest and lineage."""
    archives = sorted(model_dir.glob("*.tar.gz"))
    if not archives:
        loose = model_dir / baselines.BASELINE_FILE
        if loose.is_file():
            return _checked(loose.read_bytes(), None, lineage_sha256)
        raise JobError("the model input holds no model.tar.gz")
    try:
        with tarfile.open(archives[0], "r:gz") as tar:
            manifest = json.loads(_member(tar, "modelport.json"))
            raw = _member(tar, baselines.BASELINE_FILE)
    except KeyError as missing:
        raise JobError(f"the version's artifact has no {missing.args[0]}: it was published without a "
                       "baseline (the reference trainer writes one; else push --baseline)") from None
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise JobError(f"the version's artifact cannot be read: {exc}") from None
    return _checked(raw, (manifest.get("files") or {}).get(baselines.BASELINE_FILE), lineage_sha256)


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    found = tar.extractfile(name)
    if found is None:
        raise KeyError(name)
    return found.read()


def _checked(raw: bytes, manifest_sha: str | None, lineage_sha: str | None) -> dict[str, Any]:
    digest = hashlib.sha256(raw).hexdigest()
    for where, expected in (("the artifact's manifest", manifest_sha), ("the version's lineage", lineage_sha)):
        if expected is not None and expected != digest:
            raise JobError(f"baseline.json does not match {where} (sha256 {digest[:12]}…, expected {expected[:12]}…)")
    try:
        profile = json.loads(raw)
        baselines.validate(profile)
    except (ValueError, baselines.BaselineError) as exc:
        raise JobError(f"baseline.json is not a valid profile: {exc}") from None
    return profile


def read_labels(directory: Path) -> dict[str, Any]:
    """`{inference_id: label}` from the label files (one JSON object per line); a label
    is one value, or a list with one value per row of a batched request."""
    labels: dict[str, Any] = {}
    for path in sorted(directory.rglob("*.jsonl")) if directory.is_dir() else []:
        for line in path.read_bytes().splitlines():
            try:
                item = json.loads(line)
                labels[str(item["inference_id"])] = item["label"]
            except (ValueError, KeyError, TypeError):
                continue
    return labels


@dataclass(frozen=True)
class Analysis:
    features: list[drift.FeatureDrift]
    outputs: list[drift.FeatureDrift]
    status: str
    live: dict[str, Any]
    joined: int


def analyse(profile: dict[str, Any], window: Window, labels: dict[str, Any], config: RunConfig) -> Analysis:
    t = config.thresholds
    features = [drift.compare(n, p, window.features[n], t) for n, p in profile["features"].items()]
    outputs = [drift.compare(n, p, window.outputs[n], t) for n, p in (profile.get("outputs") or {}).items()]
    if window.rows < t.min_samples:
        status = drift.INSUFFICIENT
    else:
        status = drift.DRIFT if any(f.drifted for f in (*features, *outputs)) else drift.OK
    live, joined = live_metric(profile, window, labels, config.metric)
    return Analysis(features, outputs, status, live, joined)


def live_metric(profile: dict[str, Any], window: Window, labels: dict[str, Any], metric: str) -> tuple[dict, int]:
    """The policy metric on the captured predictions that have labels, overall and per hour."""
    out: dict[str, Any] = {"metric": metric, "value": None, "n": 0, "labels": len(labels), "series": []}
    predictions = window.outputs.get("prediction")
    picked = _labelled_rows(window, labels)
    if not picked:
        return out, 0
    rows, y = zip(*picked, strict=True)
    rows = np.asarray(rows)
    scores = _scores(window, rows)
    hours = [f"{str(t)[:13]}:00:00Z" for t in window.times[rows]]
    try:
        if predictions is None and metric != "roc_auc":
            raise quality.MetricUnavailable("the model's answers hold no `prediction` to compare labels with")
        pred = predictions[rows] if predictions is not None else [None] * len(rows)
        value = quality.compute(metric, y, pred, scores)
        points = quality.series(metric, hours, y, pred, scores)
    except quality.MetricUnavailable as exc:
        out["error"] = str(exc)
        return out, len(rows)
    out.update(value=None if np.isnan(value) else value, n=len(rows),
               series=[{"time": p.time, "value": p.value, "n": p.n} for p in points])
    return out, len(rows)


def _labelled_rows(window: Window, labels: dict[str, Any]) -> list[tuple[int, Any]]:
    picked = []
    for i, (inference_id, row) in enumerate(zip(window.inference_ids, window.row_index, strict=True)):
        label = labels.get(inference_id)
        if label is None:
            continue
        if isinstance(label, list):
            if row < len(label) and label[row] is not None:
                picked.append((i, label[row]))
        else:
            if row == 0:
                picked.append((i, label))
    return picked


def _scores(window: Window, rows: np.ndarray) -> np.ndarray | None:
    columns = sorted(n for n in window.outputs if n.startswith("prediction["))
    return window.outputs[columns[-1]][rows] if columns else None


def write_window_dataset(path: Path, profile: dict[str, Any], window: Window, labels: dict[str, Any], *,
                         target: str | None = None) -> int:
    """The captured rows that have labels, as a training table (features + target). The
    target column is named as the model's retrains read it (`target`, from its training
    spec), else as the baseline names it, else `label`."""
    target = target or profile.get("target") or "label"
    names = list(profile["features"])
    picked = _labelled_rows(window, labels)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*names, target])
        for i, label in picked:
            writer.writerow([_cell(window.features[n][i]) for n in names] + [_cell(label)])
    return len(picked)


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
