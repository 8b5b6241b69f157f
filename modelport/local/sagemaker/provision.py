"""Turning an endpoint config into running, healthy fleets of serving processes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modelport.local.sagemaker.artifacts import Artifacts
from modelport.local.sagemaker.capture import CaptureConfig
from modelport.local.sagemaker.fleet import Fleet, FleetSet, Instance, stop_instances
from modelport.local.sagemaker.processes import Launcher, LaunchSpec, free_port, log_reference
from modelport.local.sagemaker.shapes import SageMakerError
from modelport.local.settings import LocalSettings


class ProvisionError(Exception):
    """A fleet could not be brought up; the message becomes the FailureReason."""


def runs_locally(image: str, marker: str) -> bool:
    """Only Modelport's images run without Docker: their entry points are our modules."""
    repository = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    return marker in repository


def docker_failure(image: str, marker: str) -> str:
    return (
        f"Image {image} cannot run in local mode: there is no Docker here, and only images "
        f"whose repository name contains '{marker}' (Modelport's model containers) run, "
        "as local processes."
    )


class Provisioner:
    """Starts instances for fleets and waits for `GET /ping` to answer 200."""

    def __init__(
        self,
        settings: LocalSettings,
        artifacts: Artifacts,
        launcher: Launcher,
        logs: Path,
        monotonic=time.monotonic,
    ) -> None:
        self._settings = settings
        self._artifacts = artifacts
        self._launch = launcher
        self._logs = logs
        self._monotonic = monotonic
        self._seq = 0
        self._lock = threading.Lock()

    def fleet_set(
        self, endpoint: str, config: dict, models: dict[str, dict], cancel: threading.Event,
        counts: dict[str, int] | None = None,
    ) -> FleetSet:
        """Start every variant of `config` (instance counts from `counts` where given)."""
        fleets: dict[str, Fleet] = {}
        try:
            for variant in config["ProductionVariants"]:
                name = variant["VariantName"]
                fleet = Fleet(
                    variant_name=name, model_name=variant["ModelName"],
                    instance_type=variant.get("InstanceType", "ml.m5.large"),
                    weight=float(variant.get("InitialVariantWeight", 1.0)),
                )
                fleets[name] = fleet
                count = (counts or {}).get(name, variant.get("InitialInstanceCount", 1))
                self.grow(endpoint, config["EndpointConfigName"], fleet, models[fleet.model_name],
                          count, cancel)
        except BaseException:
            for fleet in fleets.values():
                fleet.stop()
            raise
        return FleetSet(config_name=config["EndpointConfigName"], fleets=fleets,
                        capture=CaptureConfig.parse(config.get("DataCaptureConfig")))

    def grow(
        self, endpoint: str, config_name: str, fleet: Fleet, model: dict, count: int,
        cancel: threading.Event,
    ) -> None:
        """Add instances until the fleet has `count`, all healthy, or raise ProvisionError."""
        container = model.get("PrimaryContainer") or {}
        image = container.get("Image", "")
        if not runs_locally(image, self._settings.image_marker):
            raise ProvisionError(docker_failure(image, self._settings.image_marker))
        try:
            model_dir = (
                self._artifacts.model_dir(container["ModelDataUrl"])
                if container.get("ModelDataUrl") else None
            )
        except SageMakerError as exc:
            raise ProvisionError(exc.message) from exc
        missing = count - len(fleet.instances)
        if missing <= 0:
            return
        new = [
            self._start(endpoint, config_name, fleet.variant_name, container, model_dir)
            for _ in range(missing)
        ]
        fleet.instances.extend(new)
        with ThreadPoolExecutor(max_workers=len(new)) as pool:
            failures = [f for f in pool.map(lambda i: self._wait_healthy(i, cancel), new) if f]
        if failures:
            stop_instances(new)
            for instance in new:
                fleet.instances.remove(instance)
            raise ProvisionError(failures[0])

    def _start(
        self, endpoint: str, config_name: str, variant: str, container: dict, model_dir: Path | None
    ) -> Instance:
        host = self._settings.host
        port = free_port(host)
        with self._lock:
            self._seq += 1
            seq = self._seq
        log_path = self._logs / endpoint / f"{config_name}-{variant}-{seq}.log"
        env = {
            **{k: str(v) for k, v in (container.get("Environment") or {}).items()},
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "MODELPORT_HOST": host,
            "MODELPORT_WORKERS": str(self._settings.serving_workers),
        }
        if model_dir is not None:
            env["MODELPORT_MODEL_DIR"] = str(model_dir)
        process = self._launch(LaunchSpec(self._settings.serving_module, env, log_path, kind="endpoint",
                                          owner=f"{endpoint}/{variant}",
                                          readable=(model_dir,) if model_dir is not None else ()))
        return Instance(process, host, port, log_path, self._settings.invoke_timeout_s)

    def _wait_healthy(self, instance: Instance, cancel: threading.Event) -> str | None:
        """None once `/ping` answers 200; else why not (exit, timeout, cancelled)."""
        deadline = self._monotonic() + self._settings.health_timeout_s
        last = 0
        while self._monotonic() < deadline:
            if cancel.is_set():
                return "The operation was cancelled (endpoint deleted or local SageMaker stopped)."
            code = instance.process.poll()
            if code is not None:
                return (
                    f"The model container exited with code {code} before passing the ping "
                    f"health check; see {log_reference(instance.log_path)}"
                )
            last = instance.ping()
            if last == 200:
                return None
            cancel.wait(self._settings.health_poll_s)
        return (
            "The primary container for production variant did not pass the ping health check "
            f"within {self._settings.health_timeout_s:g}s (last status: {last or 'no answer'}); "
            f"see {log_reference(instance.log_path)}"
        )
