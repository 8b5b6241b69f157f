"""`LocalSageMaker`: the parts wired together, served through the embedded AWS front or
standalone (for `AWS_ENDPOINT_URL_SAGEMAKER` / `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.local.aws.credentials import Credentials
from modelport.local.aws.guard import Guard
from modelport.local.sagemaker.api import SageMakerApp
from modelport.local.sagemaker.artifacts import Artifacts
from modelport.local.sagemaker.autoscaling import Autoscaler
from modelport.local.sagemaker.capture import CaptureWriter
from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.control import Control
from modelport.local.sagemaker.deployment import Baker, cloudwatch_alarm_states
from modelport.local.sagemaker.endpoints import Endpoints
from modelport.local.sagemaker.processes import Launcher, launch, tracked
from modelport.local.sagemaker.processing import Processing
from modelport.local.sagemaker.provision import Provisioner
from modelport.local.sagemaker.runtime import InvokeResult, ainvoke, invoke
from modelport.local.sagemaker.shapes import SageMakerError
from modelport.local.sagemaker.store import Store
from modelport.local.sagemaker.training import Training
from modelport.local.settings import LocalSettings
from modelport.local.wsgi import ServerThread

log = logging.getLogger(__name__)


def processes_dir(state_dir: Path) -> Path:
    """Where the pid files of the processes of a local SageMaker on `state_dir` are."""
    return state_dir / "sagemaker" / "processes"


class LocalSageMaker:
    """The subset of SageMaker and SageMaker runtime that the platform calls.

    `aws_client(service)` gives boto3 clients of the embedded AWS (S3 for artifacts and
    training data, CloudWatch for rollback alarms, Application Auto Scaling for targets).
    """

    def __init__(
        self,
        settings: LocalSettings,
        aws_client: Callable[[str], Any],
        *,
        launcher: Launcher = launch,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        root = settings.state_dir / "sagemaker"
        self.root = root
        #: what every job kind (endpoint instances, training, drift) is started with: each
        #: process leaves a pid file, so a start after a crash can stop what was left running
        self.launcher = launcher = tracked(launcher, processes_dir(settings.state_dir), settings.state_dir)
        self.store = Store(root)
        artifacts = Artifacts(lambda: aws_client("s3"), root / "artifacts", max_bytes=settings.max_unpacked_model_bytes)
        provisioner = Provisioner(settings, artifacts, launcher, root / "logs")
        baker = Baker(settings, self.clock, cloudwatch_alarm_states(lambda: aws_client("cloudwatch")))
        self.endpoints = Endpoints(self.store, provisioner, baker, self.clock)
        self.training = Training(
            settings, self.store, lambda: aws_client("s3"), launcher, self.clock, root / "training"
        )
        self.processing = Processing(
            settings, self.store, lambda: aws_client("s3"), launcher, self.clock, root / "processing"
        )
        self.autoscaler = Autoscaler(
            lambda: aws_client("application-autoscaling"), self.endpoints, self.clock
        )
        self.control = Control(
            self.store, self.endpoints, self.training, settings.region, settings.account_id,
            self.clock.time, processing=self.processing,
        )
        self.capture = CaptureWriter(lambda: aws_client("s3"), flush_s=settings.capture_flush_s)
        self.app = SageMakerApp(self.control.operations(), self.invoke)
        self._stop = threading.Event()
        self._autoscaling: threading.Thread | None = None
        self._supervisor: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> LocalSageMaker:
        """Bring back what was serving before the last stop; start the autoscaler."""
        self._stop.clear()
        self.capture.start()
        self.training.restore()
        self.processing.restore()
        self.endpoints.restore()
        self._autoscaling = threading.Thread(
            target=self.autoscaler.run, args=(self.settings.autoscale_interval_s, self._stop),
            name="sagemaker-autoscaler", daemon=True,
        )
        self._autoscaling.start()
        self._supervisor = threading.Thread(target=self._supervise, name="sagemaker-supervisor",
                                            daemon=True)
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        while not self._stop.wait(self.settings.supervise_interval_s):
            try:
                self.endpoints.heal()
            except Exception:
                log.exception("local SageMaker: replacing failed instances failed")

    def stop(self) -> None:
        """Stop every process; records stay as they are, so a start brings them back."""
        self._stop.set()
        for thread in (self._autoscaling, self._supervisor):
            if thread is not None:
                thread.join(timeout=10)
        self.training.stop_all()
        self.processing.stop_all()
        self.endpoints.stop_all()
        self.capture.stop()

    def serve(self, host: str | None = None, port: int = 0, *, credentials: Credentials) -> ServerThread:
        """Serve standalone on its own port (both control plane and runtime), behind the same
        door as the embedded AWS (`guard.Guard`: Host check, no CORS, SigV4 with `credentials`)."""
        host = host or self.settings.host
        return ServerThread(Guard(self.app, credentials, host=host), host, port, "local SageMaker").start()

    # -- hooks ----------------------------------------------------------------------------
    def scaling_changed(self, operation: str, request: dict) -> None:
        self.autoscaler.scaling_changed(operation, request)

    # -- runtime --------------------------------------------------------------------------
    def invoke(
        self,
        endpoint: str,
        body: bytes,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
    ) -> InvokeResult:
        """InvokeEndpoint in-process; raises SageMakerError."""
        runtime, headers = self._invocation(endpoint, content_type, accept, custom_attributes, inference_id)
        result = invoke(runtime, body, headers, target_variant, self.settings.account_id)
        self._captured(endpoint, result, body, headers, inference_id)
        return result

    async def ainvoke(
        self,
        endpoint: str,
        body: bytes,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
    ) -> InvokeResult:
        """`invoke` on the caller's event loop (the gateway's direct path)."""
        runtime, headers = self._invocation(endpoint, content_type, accept, custom_attributes, inference_id)
        result = await ainvoke(runtime, body, headers, target_variant, self.settings.account_id)
        self._captured(endpoint, result, body, headers, inference_id)
        return result

    def _invocation(self, endpoint: str, content_type: str | None, accept: str | None,
                    custom_attributes: str | None, inference_id: str | None) -> tuple[Any, dict[str, str]]:
        runtime = self.endpoints.runtime(endpoint)
        # A runtime has a blue fleet exactly while the endpoint is InService or Updating.
        if runtime is None or runtime.blue is None:
            raise SageMakerError(
                "ValidationError",
                f"Endpoint {endpoint} of account {self.settings.account_id} not found.",
            )
        headers = {
            "Content-Type": content_type or "application/octet-stream",
            "Accept": accept,
            "X-Amzn-SageMaker-Custom-Attributes": custom_attributes,
            "X-Amzn-SageMaker-Inference-Id": inference_id,
        }
        return runtime, {k: v for k, v in headers.items() if v is not None}

    def _captured(self, endpoint: str, result: InvokeResult, body: bytes, headers: dict[str, str],
                  inference_id: str | None) -> None:
        self.capture.submit(endpoint, result.variant, result.capture, body, headers["Content-Type"],
                            result.body, result.content_type, inference_id)
