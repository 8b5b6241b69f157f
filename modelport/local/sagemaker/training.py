"""Training jobs as training-entry processes with SageMaker's layout under a per-job root.

`<state>/sagemaker/training/<job>/ml` stands for `/opt/ml`: `input/config/*.json`,
`input/data/<channel>/` (downloaded from the embedded S3), `model/` (tarred and uploaded
to `<S3OutputPath>/<job>/output/model.tar.gz`) and `output/failure` (the FailureReason).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from modelport.local.sagemaker.artifacts import download_prefix, upload_model_dir
from modelport.local.sagemaker.jobs import JobThreads
from modelport.local.sagemaker.processes import (
    LaunchSpec,
    ProcessHandle,
    log_reference,
    stop,
)
from modelport.local.sagemaker.provision import docker_failure, runs_locally

log = logging.getLogger(__name__)

_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Job stopped because it exceeded the maximum allowed runtime",
}


_INTERRUPTED = "Local mode stopped while the training job ran; start the job again."


class _Stopped(Exception):
    """StopTrainingJob was called."""


class _Finished(_Stopped):
    """The job already recorded how it ended."""


class Training(JobThreads):
    """Runs training jobs; one thread per job."""

    kind = "training"

    def start(self, name: str) -> None:
        """Run the job whose record exists (status InProgress)."""
        self._transition(name, "Starting")
        self._spawn(name)

    def stop(self, name: str) -> None:
        self._store.update("training_jobs", name, TrainingJobStatus="Stopping")
        self._transition(name, "Stopping")
        self._signal_stop(name)

    def restore(self) -> None:
        """Jobs that were running when local mode stopped cannot resume: they fail."""
        for record in self._store.all("training_jobs"):
            if record["TrainingJobStatus"] in ("InProgress", "Stopping"):
                self._finish(record["TrainingJobName"], "Failed", "Failed",
                             FailureReason=_INTERRUPTED)

    # -- the job --------------------------------------------------------------------------
    def _run(self, name: str) -> None:
        cancel = self._stops[name]
        try:
            self._execute(name, cancel)
        except _Finished:
            pass
        except _Stopped:
            if self._shutting_down:  # not a StopTrainingJob: local mode itself stopped
                self._finish(name, "Failed", "Failed", FailureReason=_INTERRUPTED)
            else:
                self._finish(name, "Stopped", "Stopped")
        except Exception as exc:  # a job never stays InProgress because of our own error
            log.exception("local SageMaker: training job %s failed", name)
            self._finish(name, "Failed", "Failed", FailureReason=f"InternalServerError: {exc}")

    def _execute(self, name: str, cancel: threading.Event) -> None:
        job = self._store.get("training_jobs", name)
        assert job is not None
        image = job["AlgorithmSpecification"].get("TrainingImage", "")
        if not runs_locally(image, self._settings.image_marker):
            self._finish(name, "Failed", "Failed",
                         FailureReason=docker_failure(image, self._settings.image_marker))
            return
        job_dir = self._root / name
        shutil.rmtree(job_dir, ignore_errors=True)
        ml = job_dir / "ml"
        model_dir, failure = ml / "model", ml / "output" / "failure"
        for directory in (ml / "input" / "config", model_dir, ml / "output" / "data"):
            directory.mkdir(parents=True, exist_ok=True)
        self._transition(name, "Downloading")
        channels = self._download(job, ml / "input" / "data", cancel)
        self._write_config(job, ml / "input" / "config")
        self._transition(name, "Training")
        started = self._clock.time()
        self._store.update("training_jobs", name, TrainingStartTime=started)
        process = self._launch(LaunchSpec(
            self._settings.training_module, self._environment(job, ml, channels),
            job_dir / "training.log", kind="training", owner=name, writable=(ml,),
        ))
        code = self._wait(name, process, job, cancel)
        runtime = {"TrainingEndTime": self._clock.time(),
                   "TrainingTimeInSeconds": max(1, int(self._clock.time() - started))}
        runtime["BillableTimeInSeconds"] = runtime["TrainingTimeInSeconds"]
        if code != 0:
            reason = failure.read_text().strip() if failure.exists() else ""
            reason = reason or f"training exited with code {code}; see {log_reference(job_dir / 'training.log')}"
            self._finish(name, "Failed", "Failed", FailureReason=f"AlgorithmError: {reason}", **runtime)
            return
        self._transition(name, "Uploading")
        output = job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        uri = f"{output}/{name}/output/model.tar.gz"
        upload_model_dir(self._s3(), model_dir, uri)
        self._finish(name, "Completed", "Completed", ModelArtifacts={"S3ModelArtifacts": uri},
                     FinalMetricDataList=self._metrics(model_dir), **runtime)

    def _download(self, job: dict, data: Path, cancel: threading.Event) -> dict[str, Path]:
        channels = {}
        for channel in job.get("InputDataConfig") or []:
            if cancel.is_set():
                raise _Stopped()
            source = channel["DataSource"].get("S3DataSource") or {}
            target = data / channel["ChannelName"]
            if source.get("S3Uri"):
                download_prefix(self._s3(), source["S3Uri"], target)
            target.mkdir(parents=True, exist_ok=True)
            channels[channel["ChannelName"]] = target
        return channels

    @staticmethod
    def _write_config(job: dict, config: Path) -> None:
        (config / "hyperparameters.json").write_text(json.dumps(job.get("HyperParameters") or {}))
        channels = {c["ChannelName"]: {k: v for k, v in c.items() if k not in ("ChannelName", "DataSource")}
                    for c in job.get("InputDataConfig") or []}
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
        )

    def _environment(self, job: dict, ml: Path, channels: dict[str, Path]) -> dict[str, str]:
        hps = job.get("HyperParameters") or {}
        env = {k: str(v) for k, v in (job.get("Environment") or {}).items()}
        env.update({
            "MODELPORT_ML_ROOT": str(ml),
            "SM_MODEL_DIR": str(ml / "model"),
            "SM_INPUT_DIR": str(ml / "input"),
            "SM_INPUT_CONFIG_DIR": str(ml / "input" / "config"),
            "SM_OUTPUT_DIR": str(ml / "output"),
            "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_HPS": json.dumps({k: _decode(v) for k, v in hps.items()}),
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_NUM_GPUS": "0",
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "TRAINING_JOB_NAME": job["TrainingJobName"],
        })
        for channel, path in channels.items():
            env[f"SM_CHANNEL_{channel.upper()}"] = str(path)
        for key, value in hps.items():
            env[f"SM_HP_{key.upper()}"] = str(value)
        return env

    def _wait(self, name: str, process: ProcessHandle, job: dict, cancel: threading.Event) -> int:
        limit = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        deadline = self._clock.monotonic() + limit if limit else None
        while (code := process.poll()) is None:
            if cancel.is_set():
                stop(process)
                raise _Stopped()
            if deadline is not None and self._clock.monotonic() > deadline:
                stop(process)
                self._transition(name, "MaxRuntimeExceeded")
                self._finish(name, "Stopped", "MaxRuntimeExceeded")
                raise _Finished()
            cancel.wait(0.05)
        return code

    @staticmethod
    def _metrics(model_dir: Path) -> list[dict] | None:
        try:
            metrics = json.loads((model_dir / "metrics.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(metrics, dict):
            return None
        return [
            {"MetricName": key, "Value": float(value)}
            for key, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ] or None

    # -- records --------------------------------------------------------------------------
    def _transition(self, name: str, status: str) -> None:
        now = self._clock.time()
        with self._store.lock:
            job = self._store.get("training_jobs", name)
            if job is None:
                return
            transitions = job.get("SecondaryStatusTransitions", [])
            if transitions and transitions[-1]["Status"] == status:
                return
            if transitions:
                transitions[-1]["EndTime"] = now
            transitions.append({"Status": status, "StartTime": now, "StatusMessage": _MESSAGES[status]})
            self._store.update("training_jobs", name, SecondaryStatus=status,
                               SecondaryStatusTransitions=transitions, LastModifiedTime=now)

    def _finish(self, name: str, status: str, secondary: str, **fields: Any) -> None:
        self._transition(name, secondary)
        with self._store.lock:
            job = self._store.get("training_jobs", name) or {}
            transitions = job.get("SecondaryStatusTransitions", [])
            if transitions:
                transitions[-1]["EndTime"] = self._clock.time()
            self._store.update("training_jobs", name, TrainingJobStatus=status,
                               SecondaryStatusTransitions=transitions, **fields)


def _decode(value: str) -> Any:
    """SageMaker's training toolkit decodes hyperparameters that are JSON, else keeps strings."""
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value
