"""Helpers for tests that run against the local cloud (embedded AWS + local SageMaker).

Plain functions and classes, no pytest plugin: a test folder wraps them in its own
fixtures (see `tests/local/conftest.py`). One `LocalCloud` may run per process at a time
(moto's state and `MOTO_PORT` are process-wide), so start it once per test package and
use unique resource names per test. Do not enter `moto.mock_aws` while it runs: leaving a
`mock_aws` resets every moto backend, the embedded AWS's state included.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from modelport.local.cloud import LocalCloud
from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.processes import LaunchSpec, ProcessHandle, launch
from modelport.local.settings import LocalSettings

T = TypeVar("T")

#: a model image that runs locally (its repository name contains "modelport").
MODELPORT_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-cpu:latest"
ROLE_ARN = "arn:aws:iam::123456789012:role/modelport-sagemaker"


class SteppingClock(Clock):
    """Baking periods take no real time (sleeps advance a virtual clock), unless a test
    closes the gate: then every sleep waits until the gate opens again."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
        self.sleeping = threading.Event()

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def sleep(self, seconds: float, cancel: threading.Event) -> bool:
        if not self._gate.is_set():
            self.sleeping.set()
            while not self._gate.wait(0.01):
                if cancel.is_set():
                    return True
        self.advance(max(0.0, seconds))
        return cancel.is_set()

    def hold(self) -> None:
        """From now on, sleeps block until `release()`."""
        self.sleeping.clear()
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()


class RecordingLauncher:
    """The default launcher, remembering every (spec, process) it started."""

    def __init__(self) -> None:
        self.launched: list[tuple[LaunchSpec, ProcessHandle]] = []
        self._lock = threading.Lock()

    def __call__(self, spec: LaunchSpec) -> ProcessHandle:
        process = launch(spec)
        with self._lock:
            self.launched.append((spec, process))
        return process

    def matching(self, text: str) -> list[ProcessHandle]:
        """Processes whose log path contains `text` (endpoint, config or job name)."""
        with self._lock:
            return [p for spec, p in self.launched if text in str(spec.log_path)]


def settings_for(state_dir: Path, **overrides: Any) -> LocalSettings:
    """Settings suited to tests: free ports, fast health polling, no periodic snapshots."""
    values: dict[str, Any] = {
        "state_dir": state_dir,
        "snapshot_interval_s": 0,
        "health_timeout_s": 30.0,
        "health_poll_s": 0.05,
        "bake_check_s": 10.0,
        "supervise_interval_s": 0.5,
    }
    values.update(overrides)
    return LocalSettings(**values)


@contextmanager
def local_cloud(state_dir: Path | None = None, **overrides: Any) -> Iterator[LocalCloud]:
    """A started `LocalCloud` (temporary state unless `state_dir` is given), stopped after."""
    with tempfile.TemporaryDirectory(prefix="modelport-local-") as tmp:
        settings = settings_for(Path(state_dir or tmp), **overrides)
        cloud = LocalCloud(settings, launcher=RecordingLauncher(), clock=SteppingClock()).start()
        try:
            yield cloud
        finally:
            cloud.stop()


def client(cloud: LocalCloud, service: str) -> Any:
    """A plain boto3 client of `service` pointed at the cloud (what handlers build)."""
    return boto3.client(
        service, endpoint_url=cloud.url, region_name=cloud.settings.region,
        config=Config(retries={"mode": "standard", "max_attempts": 1},
                      signature_version="s3v4" if service == "s3" else None),
        **cloud.aws.credentials.boto3(),
    )


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def wait_endpoint(sagemaker: Any, name: str, timeout: float = 60.0) -> dict:
    """DescribeEndpoint until the endpoint leaves Creating/Updating/SystemUpdating."""

    def settled() -> dict | None:
        found = sagemaker.describe_endpoint(EndpointName=name)
        busy = found["EndpointStatus"] in ("Creating", "Updating", "SystemUpdating", "RollingBack")
        return None if busy else found

    return wait_for(settled, timeout, 0.05, f"endpoint {name} to settle")


def run_state_machine(
    sfn: Any, definition: dict, payload: dict, name: str, timeout: float = 60.0
) -> dict:
    """Create a state machine, start it with `payload`, wait; returns DescribeExecution."""
    import json

    machine = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]

    def finished() -> dict | None:
        found = sfn.describe_execution(executionArn=arn)
        return found if found["status"] != "RUNNING" else None

    return wait_for(finished, timeout, 0.1, f"execution of {name}")


def python_model(directory: Path, *, offset: float = 0.0, corrupt: bool = False) -> Path:
    """A `python`-framework artifact (`model.tar.gz`) whose prediction is `sum(row) + offset`.

    Rows with a negative first value make `predict` raise (the container answers 500), so
    tests can make a fleet fail on purpose. `corrupt=True` alters a file after hashing, so
    the container's integrity check fails and `/ping` never turns 200.
    """
    from model_containers import artifact

    model_dir = directory / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "predictor.py").write_text(
        "import numpy as np\n\n\n"
        "def load(model_dir):\n    pass\n\n\n"
        "def predict(batch):\n"
        "    rows = np.asarray(batch, dtype=float)\n"
        "    if (rows[:, 0] < 0).any():\n"
        "        raise RuntimeError('negative input')\n"
        f"    return rows.sum(axis=1) + {offset!r}\n"
    )
    artifact.write_manifest(
        model_dir, framework="python", model_file="predictor.py",
        signature={"inputs": [], "outputs": []},
    )
    if corrupt:  # same size, other bytes: unpacking passes, the container's hash check does not
        size = (model_dir / "predictor.py").stat().st_size
        (model_dir / "predictor.py").write_text("raise SystemExit('tampered')  #".ljust(size - 1, "#") + "\n")
    return artifact.pack(model_dir, directory / "model.tar.gz").path


def deploy_python_model(
    cloud: LocalCloud, bucket: str, name: str, directory: Path, *, offset: float = 0.0,
    count: int = 1, corrupt: bool = False, instance_type: str = "ml.m5.large",
    data_capture: dict | None = None,
) -> str:
    """Upload a `python_model`, create its Model and EndpointConfig (with `data_capture` as
    its `DataCaptureConfig`, if given); returns the config name."""
    s3, sm = client(cloud, "s3"), client(cloud, "sagemaker")
    archive = python_model(directory / name, offset=offset, corrupt=corrupt)
    key = f"models/{name}/model.tar.gz"
    s3.upload_file(str(archive), bucket, key)
    sm.create_model(
        ModelName=name, ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": MODELPORT_IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name,
                             "InstanceType": instance_type, "InitialInstanceCount": count}],
        **({"DataCaptureConfig": data_capture} if data_capture else {}),
    )
    return f"{name}-config"
