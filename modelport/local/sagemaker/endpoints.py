"""Endpoint lifecycle: Creating → InService | Failed, blue/green Updating, scaling, deletion,
and bringing endpoints back after a restart. Long work runs in one thread per endpoint."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.deployment import Baker, plan
from modelport.local.sagemaker.fleet import FleetSet, stop_instances
from modelport.local.sagemaker.provision import Provisioner, ProvisionError
from modelport.local.sagemaker.runtime import EndpointRuntime
from modelport.local.sagemaker.store import Store

log = logging.getLogger(__name__)

#: record field (not in DescribeEndpoint's shape, so never answered) with what is deployed.
_DEPLOYED = "LocalDeployment"
#: statuses in which a restart brings the endpoint's current config back up.
_SERVING = {"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}


class Endpoints:
    """Runs endpoint operations against the store's records and the live runtimes."""

    def __init__(
        self, store: Store, provisioner: Provisioner, baker: Baker, clock: Clock,
    ) -> None:
        self._store = store
        self._provisioner = provisioner
        self._baker = baker
        self._clock = clock
        self._runtimes: dict[str, EndpointRuntime] = {}
        self._lock = threading.Lock()

    # -- queries --------------------------------------------------------------------------
    def runtime(self, name: str) -> EndpointRuntime | None:
        with self._lock:
            return self._runtimes.get(name)

    # -- operations -----------------------------------------------------------------------
    def create(self, name: str) -> None:
        """Bring up the record's endpoint config (the record exists, status Creating)."""
        runtime = EndpointRuntime(name)
        with self._lock:
            self._runtimes[name] = runtime
        self._spawn(runtime, lambda: self._create(runtime, restoring=False))

    def update(self, name: str, config_name: str, deployment_config: dict | None, *, retain_counts: bool = False) -> None:
        runtime = self.runtime(name)
        assert runtime is not None
        counts = None
        if retain_counts and runtime.blue is not None:
            counts = {variant: len(fleet.instances) for variant, fleet in runtime.blue.fleets.items()}
        self._spawn(runtime, lambda: self._update(runtime, config_name, deployment_config, counts))

    def scale(self, name: str, variant: str, desired: int) -> bool:
        """Change a variant's instance count (autoscaling); False when the endpoint is busy."""
        runtime = self.runtime(name)
        fleets = runtime.blue if runtime is not None else None
        if fleets is None or variant not in fleets.fleets:
            return False
        if len(fleets.fleets[variant].instances) == desired:
            return True
        # The status is the lock: only an InService endpoint starts an operation.
        if not self.begin(name, "Updating"):
            return False
        self._spawn(runtime, lambda: self._scale(runtime, fleets, variant, desired))
        return True

    def delete(self, name: str) -> None:
        with self._lock:
            runtime = self._runtimes.pop(name, None)
        self._status(name, "Deleting")

        def work() -> None:
            if runtime is not None:
                runtime.cancel.set()
                if runtime.thread is not None and runtime.thread is not threading.current_thread():
                    runtime.thread.join(timeout=30)
                runtime.stop()
            self._store.delete("endpoints", name)

        threading.Thread(target=work, name=f"sagemaker-delete-{name}", daemon=True).start()

    def heal(self) -> list[str]:
        """Replace instances whose process exited, as SageMaker replaces failed instances;
        returns the endpoints being healed."""
        healing = []
        with self._lock:
            runtimes = list(self._runtimes.values())
        for runtime in runtimes:
            fleets = runtime.blue
            if fleets is None or all(i.alive for f in fleets.fleets.values() for i in f.instances):
                continue
            if not self.begin(runtime.name, "Updating"):
                continue
            healing.append(runtime.name)
            self._spawn(runtime, lambda r=runtime, fs=fleets: self._heal(r, fs))
        return healing

    def begin(self, name: str, status: str) -> bool:
        """Move an InService endpoint to `status` atomically; False when it is not InService."""
        with self._store.lock:
            record = self._store.get("endpoints", name)
            if record is None or record["EndpointStatus"] != "InService":
                return False
            self._status(name, status)
            return True

    def restore(self) -> None:
        """After a restart: serving endpoints come back up; creations start over."""
        for record in self._store.all("endpoints"):
            name, status = record["EndpointName"], record["EndpointStatus"]
            if status == "Deleting":
                self._store.delete("endpoints", name)
                continue
            if status not in _SERVING and status != "Creating":
                continue
            runtime = EndpointRuntime(name)
            with self._lock:
                self._runtimes[name] = runtime
            fields = {"PendingDeploymentSummary": None}
            if status == "Updating":
                fields["FailureReason"] = (
                    "The update was interrupted by a restart of local mode; the endpoint kept "
                    "its previous endpoint configuration."
                )
            restoring = status != "Creating"
            self._status(name, "SystemUpdating" if restoring else "Creating", **fields)
            self._spawn(runtime, lambda r=runtime, b=restoring: self._create(r, restoring=b))

    def stop_all(self) -> None:
        with self._lock:
            runtimes = list(self._runtimes.values())
            self._runtimes.clear()
        for runtime in runtimes:
            runtime.cancel.set()
        for runtime in runtimes:
            if runtime.thread is not None:
                runtime.thread.join(timeout=30)
        instances = []
        for runtime in runtimes:
            instances += [i for fs in (runtime.green, runtime.blue) if fs is not None
                          for f in fs.fleets.values() for i in f.instances]
            runtime.green = runtime.blue = None
        stop_instances(instances)

    # -- workers --------------------------------------------------------------------------
    def _spawn(self, runtime: EndpointRuntime, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as exc:  # never leave an endpoint stuck in a transient status
                log.exception("local SageMaker: operation on %s failed", runtime.name)
                self._status(runtime.name, "Failed", FailureReason=f"Internal error: {exc}")

        runtime.thread = threading.Thread(target=run, name=f"sagemaker-{runtime.name}", daemon=True)
        runtime.thread.start()

    def _create(self, runtime: EndpointRuntime, *, restoring: bool) -> None:
        record = self._store.get("endpoints", runtime.name)
        if record is None:
            return
        counts = (
            {v["VariantName"]: v.get("DesiredInstanceCount", v.get("CurrentInstanceCount", 1))
             for v in record.get("ProductionVariants", [])}
            if restoring else None
        )
        try:
            config, models = self._config(record["EndpointConfigName"], record)
            fleets = self._provisioner.fleet_set(runtime.name, config, models, runtime.cancel, counts)
        except ProvisionError as exc:
            if not runtime.cancel.is_set():
                self._status(runtime.name, "Failed", FailureReason=str(exc))
            return
        if runtime.cancel.is_set():
            fleets.stop()
            return
        with runtime.lock:
            runtime.blue = fleets
        self._status(runtime.name, "InService", ProductionVariants=self._variants(fleets, config, models),
                     **{_DEPLOYED: {"config": config, "models": models}})

    def _update(
        self, runtime: EndpointRuntime, config_name: str, deployment_config: dict | None,
        counts: dict[str, int] | None = None,
    ) -> None:
        config, models = self._config(config_name)
        started = self._clock.time()
        self._pending(runtime.name, config, started, "Creating", "Launching the new (green) fleet.")
        try:
            green = self._provisioner.fleet_set(runtime.name, config, models, runtime.cancel, counts)
        except ProvisionError as exc:
            self._roll_back(runtime, None, deployment_config, f"The new fleet did not start: {exc}")
            return
        steps = plan(deployment_config, sum(len(f.instances) for f in green.fleets.values()))
        with runtime.lock:
            runtime.green, runtime.green_share = green, 0.0
        for share in steps.shares:
            with runtime.lock:
                runtime.green_share = share
            message = f"Baking with {share:.0%} of traffic on the new fleet ({steps.kind})."
            self._pending(runtime.name, config, started, "Baking", message)
            reason = self._baker.bake(green, steps.wait_s, steps.alarms, runtime.cancel)
            if reason:
                self._roll_back(runtime, green, deployment_config, reason)
                return
        if steps.termination_wait_s and self._clock.sleep(steps.termination_wait_s, runtime.cancel):
            return
        with runtime.lock:
            old, runtime.blue, runtime.green, runtime.green_share = runtime.blue, green, None, 0.0
        if old is not None:
            old.stop()
        self._status(
            runtime.name, "InService", EndpointConfigName=config_name, FailureReason=None,
            PendingDeploymentSummary=None, LastDeploymentConfig=deployment_config,
            ProductionVariants=self._variants(green, config, models),
            **{_DEPLOYED: {"config": config, "models": models}},
        )

    def _roll_back(
        self, runtime: EndpointRuntime, green: FleetSet | None, deployment_config: dict | None,
        reason: str,
    ) -> None:
        with runtime.lock:
            runtime.green, runtime.green_share = None, 0.0
        if green is not None:
            green.stop()
        if runtime.cancel.is_set():
            return
        blue_alive = runtime.blue is not None and any(
            i.alive for f in runtime.blue.fleets.values() for i in f.instances
        )
        self._status(
            runtime.name, "InService" if blue_alive else "UpdateRollbackFailed",
            FailureReason=f"Update rolled back to the previous endpoint configuration: {reason}",
            PendingDeploymentSummary=None, LastDeploymentConfig=deployment_config,
        )

    def _scale(self, runtime: EndpointRuntime, fleets: FleetSet, variant: str, desired: int) -> None:
        fleet = fleets.fleets[variant]
        config, models = self._config(fleets.config_name, self._store.get("endpoints", runtime.name))
        try:
            if desired > len(fleet.instances):
                self._provisioner.grow(
                    runtime.name, fleets.config_name, fleet, models[fleet.model_name], desired,
                    runtime.cancel,
                )
            while len(fleet.instances) > desired:
                fleet.instances.pop().stop()
            reason = None
        except ProvisionError as exc:
            reason = f"Scaling variant {variant} to {desired} instances failed: {exc}"
        self._status(
            runtime.name, "InService", FailureReason=reason,
            ProductionVariants=self._variants(fleets, config, models),
        )

    def _heal(self, runtime: EndpointRuntime, fleets: FleetSet) -> None:
        record = self._store.get("endpoints", runtime.name) or {}
        config, models = self._config(fleets.config_name, record)
        reason = None
        for fleet in fleets.fleets.values():
            dead = [i for i in fleet.instances if not i.alive]
            if not dead:
                continue
            count = len(fleet.instances)
            fleet.instances = [i for i in fleet.instances if i.alive]
            stop_instances(dead)
            log.warning("local SageMaker: %s lost %d instance(s) of %s; replacing them",
                        runtime.name, len(dead), fleet.variant_name)
            try:
                self._provisioner.grow(runtime.name, fleets.config_name, fleet,
                                       models[fleet.model_name], count, runtime.cancel)
            except ProvisionError as exc:
                reason = f"Replacing failed instances of {fleet.variant_name} failed: {exc}"
        self._status(runtime.name, "InService", FailureReason=reason,
                     ProductionVariants=self._variants(fleets, config, models))

    # -- records --------------------------------------------------------------------------
    def _config(self, config_name: str, record: dict | None = None) -> tuple[dict, dict[str, dict]]:
        """The config and its models: as deployed (kept on the endpoint's record, so a
        deleted config or model does not stop a restart), else from the store."""
        deployed = (record or {}).get(_DEPLOYED)
        if deployed and deployed["config"]["EndpointConfigName"] == config_name:
            return deployed["config"], deployed["models"]
        config = self._store.get("endpoint_configs", config_name)
        if config is None:
            raise ProvisionError(f"Endpoint configuration {config_name} no longer exists.")
        models = {}
        for variant in config["ProductionVariants"]:
            model = self._store.get("models", variant["ModelName"])
            if model is None:
                raise ProvisionError(f"Model {variant['ModelName']} no longer exists.")
            models[variant["ModelName"]] = model
        return config, models

    def _variants(self, fleets: FleetSet, config: dict, models: dict[str, dict]) -> list[dict]:
        variants = []
        for variant in config["ProductionVariants"]:
            fleet = fleets.fleets[variant["VariantName"]]
            image = (models[fleet.model_name].get("PrimaryContainer") or {}).get("Image", "")
            count = len(fleet.instances)
            variants.append({
                "VariantName": fleet.variant_name,
                "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image,
                                    "ResolutionTime": self._clock.time()}],
                "CurrentWeight": fleet.weight, "DesiredWeight": fleet.weight,
                "CurrentInstanceCount": count, "DesiredInstanceCount": count,
            })
        return variants

    def _pending(self, name: str, config: dict, started: float, status: str, message: str) -> None:
        variants = [
            {"VariantName": v["VariantName"], "InstanceType": v.get("InstanceType"),
             "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
             "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
             "VariantStatus": [{"Status": status, "StatusMessage": message,
                                "StartTime": self._clock.time()}]}
            for v in config["ProductionVariants"]
        ]
        summary = {"EndpointConfigName": config["EndpointConfigName"], "StartTime": started,
                   "ProductionVariants": variants}
        self._store.update("endpoints", name, PendingDeploymentSummary=summary,
                           LastModifiedTime=self._clock.time())

    def _status(self, name: str, status: str, **fields: object) -> None:
        self._store.update(
            "endpoints", name, EndpointStatus=status, LastModifiedTime=self._clock.time(), **fields
        )
