"""Processing jobs as processes with SageMaker Processing's layout under a per-job root.

`<state>/sagemaker/processing/<job>/ml` stands for `/opt/ml`: every `ProcessingInput` is
downloaded from the embedded S3 into its `LocalPath` (which must lie under
`/opt/ml/processing/`), the image's module runs with `MODELPORT_ML_ROOT` pointing there,
and on success every `ProcessingOutput`'s `LocalPath` is uploaded to its `S3Uri`.
`/opt/ml/output/message` becomes `ExitMessage`. Processes are started by the same
launcher as training jobs and endpoint instances, so whatever supervises those (stop on
shutdown, orphans after a crash) covers these too.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from modelport.local.sagemaker.artifacts import download_prefix, split_s3_uri
from modelport.local.sagemaker.jobs import JobThreads
from modelport.local.sagemaker.processes import LaunchSpec, stop
from modelport.local.sagemaker.provision import docker_failure, runs_locally
from modelport.local.sagemaker.shapes import SageMakerError

log = logging.getLogger(__name__)

KIND = "processing_jobs"
ML_ROOT = PurePosixPath("/opt/ml")
PROCESSING_ROOT = ML_ROOT / "processing"
_INTERRUPTED = "Local mode stopped while the processing job ran; start the job again."


def local_path(path: str) -> PurePosixPath:
    """A ProcessingInput/Output LocalPath, relative to /opt/ml; ValidationException otherwise."""
    posix = PurePosixPath(path)
    if not posix.is_absolute() or ".." in posix.parts or not posix.is_relative_to(PROCESSING_ROOT):
        raise SageMakerError("ValidationException",
                             f"LocalPath {path!r} must be an absolute path under {PROCESSING_ROOT}/ in local mode")
    return posix.relative_to(ML_ROOT)


class Processing(JobThreads):
    """Runs processing jobs; one thread per job."""

    kind = "processing"

    def start(self, name: str) -> None:
        self._spawn(name)

    def stop(self, name: str) -> None:
        self._store.update(KIND, name, ProcessingJobStatus="Stopping", LastModifiedTime=self._clock.time())
        self._signal_stop(name)

    def restore(self) -> None:
        """Jobs that were running when local mode stopped cannot resume: they fail."""
        for record in self._store.all(KIND):
            if record["ProcessingJobStatus"] in ("InProgress", "Stopping"):
                self._finish(record["ProcessingJobName"], "Failed", FailureReason=_INTERRUPTED)

    # -- the job --------------------------------------------------------------------------
    def _run(self, name: str) -> None:
        try:
            self._execute(name, self._stops[name])
        except Exception as exc:  # a job never stays InProgress because of our own error
            log.exception("local SageMaker: processing job %s failed", name)
            self._finish(name, "Failed", FailureReason=f"InternalServerError: {exc}")

    def _execute(self, name: str, cancel: threading.Event) -> None:
        job = self._store.get(KIND, name)
        assert job is not None
        image = job["AppSpecification"]["ImageUri"]
        if not runs_locally(image, self._settings.image_marker):
            self._finish(name, "Failed", FailureReason=docker_failure(image, self._settings.image_marker))
            return
        job_dir = self._root / name
        shutil.rmtree(job_dir, ignore_errors=True)
        ml = job_dir / "ml"
        (ml / "output").mkdir(parents=True)
        try:
            for item in job.get("ProcessingInputs") or []:
                if cancel.is_set():
                    return self._finish(name, "Stopped")
                self._download(item["S3Input"], ml / local_path(item["S3Input"]["LocalPath"]))
        except SageMakerError as exc:
            return self._finish(name, "Failed", FailureReason=f"ClientError: {exc.message}")
        for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            (ml / local_path(output["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
        started = self._clock.time()
        self._store.update(KIND, name, ProcessingStartTime=started)
        env = {k: str(v) for k, v in (job.get("Environment") or {}).items()}
        env.update({"MODELPORT_ML_ROOT": str(ml), "PROCESSING_JOB_NAME": name})
        process = self._launch(LaunchSpec(self._settings.processing_module, env, job_dir / "processing.log",
                                          args=tuple(job["AppSpecification"].get("ContainerArguments") or ()),
                                          kind="processing", owner=name, writable=(ml,)))
        limit = (job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        deadline = self._clock.monotonic() + limit if limit else None
        while (code := process.poll()) is None:
            if cancel.is_set() or (deadline is not None and self._clock.monotonic() > deadline):
                stop(process)
                status = "Failed" if self._shutting_down else "Stopped"
                reason = _INTERRUPTED if self._shutting_down else (
                    None if cancel.is_set() else f"Job exceeded the maximum runtime of {limit} seconds")
                return self._finish(name, status, **({"FailureReason": reason} if reason else {}))
            cancel.wait(0.05)
        message = _message(ml / "output" / "message")
        ended = {"ProcessingEndTime": self._clock.time(), **({"ExitMessage": message} if message else {})}
        if code != 0:
            return self._finish(name, "Failed", FailureReason=(
                f"AlgorithmError: See job logs for more information ({job_dir / 'processing.log'})"), **ended)
        for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            self._upload(ml / local_path(output["S3Output"]["LocalPath"]), output["S3Output"]["S3Uri"])
        self._finish(name, "Completed", **ended)

    def _download(self, source: dict, target: Path) -> None:
        kind = source.get("S3DataType", "S3Prefix")
        if kind == "S3Prefix":
            download_prefix(self._s3(), source["S3Uri"], target)
            return
        # ManifestFile: [{"prefix": "s3://bucket/p/"}, "relative/key", ...] (S3DataSource docs)
        bucket, key = split_s3_uri(source["S3Uri"])
        try:
            manifest = json.loads(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read())
            prefix_bucket, prefix = split_s3_uri(manifest[0]["prefix"])
            relatives = [str(r) for r in manifest[1:]]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SageMakerError("ValidationException", f"The manifest {source['S3Uri']} is malformed: {exc}") from None
        target.mkdir(parents=True, exist_ok=True)
        for relative in relatives:
            path = PurePosixPath(relative)
            if path.is_absolute() or ".." in path.parts:
                raise SageMakerError("ValidationException", f"The manifest {source['S3Uri']} names {relative!r}")
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            self._s3().download_file(prefix_bucket, f"{prefix}{relative}", str(target / path))

    def _upload(self, directory: Path, uri: str) -> None:
        bucket, prefix = split_s3_uri(uri)
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            key = "/".join(part for part in (prefix.rstrip("/"), path.relative_to(directory).as_posix()) if part)
            self._s3().upload_file(str(path), bucket, key)

    def _finish(self, name: str, status: str, **fields: Any) -> None:
        self._store.update(KIND, name, ProcessingJobStatus=status, LastModifiedTime=self._clock.time(), **fields)


def _message(path: Path) -> str | None:
    try:
        return path.read_bytes()[:1024].decode("utf-8", "replace") or None
    except OSError:
        return None
