"""`Platform`: the composition root of `modelport local up` (DESIGN §5).

Start order: lock the state directory → embedded AWS + local SageMaker (restoring the
last snapshot, bringing deployed endpoints back) → handler settings into the environment
→ the same Lambda handlers registered in-process → resources from the CDK app's
definitions → the admin key → the SQS event source of the retrain trigger → the gateway.
`stop()` undoes it in reverse, leaving a final snapshot behind.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from modelport.local.cloud import LocalCloud
from modelport.local.platform import resources
from modelport.local.platform.adminkey import ensure_admin_key
from modelport.local.platform.handlers import (
    RESOLVERS,
    WorkflowGate,
    exists,
    lazy_handler,
    reset_handler_caches,
    warm_handlers,
)
from modelport.local.platform.settings import PlatformSettings
from modelport.local.statefiles import StateDirInUse, write_json_atomic

log = logging.getLogger(__name__)

__all__ = ["Platform", "PlatformSettings", "StateDirInUse"]

#: Powertools inside in-process handlers: quiet logs, no EMF lines on stdout.
_QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true",
          "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}


class Platform:
    """The whole platform on one machine. `start()`, use `api_url` / `admin_key`, `stop()`."""

    def __init__(self, settings: PlatformSettings, *, cloud_factory: Callable[[PlatformSettings], LocalCloud] | None = None) -> None:
        self.settings = settings
        self.names = resources.Names.for_settings(settings)
        self._cloud_factory = cloud_factory or (lambda s: LocalCloud(s))
        self.cloud: LocalCloud | None = None
        self.gateway: Any = None
        self.event_source: Any = None
        self.capture_source: Any = None
        self.scheduler: Any = None
        self.admin_key: str = ""
        self.admin_key_created = False
        self.ready_s = 0.0
        self.workflows_ready_s = 0.0
        #: open once the state machines exist (created after the API is up).
        self.workflows = WorkflowGate()
        #: what this start recovered from the last run (`recovery.Report`)
        self.recovery: Any = None
        #: set once the handlers are imported (after the workflows exist)
        self.warmed = threading.Event()
        self.event_feed: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._started_at = 0.0
        self._cloud_started = False
        self._wrote_ready_file = False

    # -- addresses --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def console_url(self) -> str:
        """The web console, served by the gateway (sign in with a key)."""
        return f"{self.gateway.url}/console/"

    @property
    def aws_url(self) -> str:
        assert self.cloud is not None
        return self.cloud.url

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir.resolve()

    def client(self, service: str) -> Any:
        """A boto3 client of the embedded AWS."""
        assert self.cloud is not None
        return self.cloud.aws.client(service)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
        started = self._started_at = time.perf_counter()
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.perf_counter() - started
        log.info("modelport local ready on %s in %.2fs", self.api_url, self.ready_s)
        return self

    def _start(self) -> None:
        from functions.console_site import console_config
        from modelport.local.gateway import AuthorizerCache, GatewayApp, GatewayServer, Stage
        from modelport.local.gateway.app import known_context
        from modelport.local.gateway.console import ConsoleSite

        s = self.settings
        # Handlers run without a Lambda deadline here; Powertools' idempotency warns about it.
        warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left", category=UserWarning)
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        # Bind the gateway first: a busy port fails fast, before anything else starts.
        stage = Stage(api_id=s.rest_api_id, stage=s.api_stage_name, region=s.region, account_id=s.account_id)
        cache = AuthorizerCache(ttl_s=s.authorizer_ttl_s, known_context=known_context(stage))
        self.cloud = self._cloud_factory(s)
        lambdas = self.cloud.aws.lambdas
        site = ConsoleSite(s.console_dir, console_config(api_url="", instance_types=resources.INSTANCE_TYPES, stage=s.stage))
        from modelport.local.sagemaker import aio

        app = GatewayApp(lambdas.invoke, self.cloud.sagemaker.invoke, stage=stage, cache=cache,
                         workers=s.gateway_workers, console=site,
                         ainvoke_endpoint=self.cloud.sagemaker.ainvoke if aio.AVAILABLE else None)
        self.gateway = GatewayServer(app, s.host, s.gateway_port, header_timeout_s=s.gateway_header_timeout_s,
                                     max_connections=s.gateway_max_connections)
        started_at = time.time()
        self.cloud.start()  # locks the state directory (StateDirInUse names the holder)
        self._cloud_started = True
        from modelport.local import sandbox

        if not sandbox.available():
            log.warning("this kernel has no Landlock: endpoint and training processes (user code) can read "
                        "the state directory, admin.key included; run local mode on Linux 5.13 or later")
        self._set_env({**self.cloud.aws.environment(), **self.names.environment(s), **_QUIET})
        reset_handler_caches()
        for name, spec in {**resources.API_FUNCTIONS, **resources.WORKFLOW_FUNCTIONS}.items():
            if exists(spec):
                gate = self.workflows if name in resources.STARTS_EXECUTIONS else None
                shared = RESOLVERS if name in resources.API_FUNCTIONS and name != "authorizer" else None
                lambdas.register(name, lazy_handler(spec, gate, shared), timeout_s=900.0)
        resources.create_all(self.cloud.aws.client, s, self.names)
        self.admin_key, self.admin_key_created = ensure_admin_key(s.state_dir, s.admin_owner)
        self._recover(started_at)
        self.cloud.aws.front.register_authorizer_cache(s.rest_api_id, s.api_stage_name, cache.flush)
        if "retrain-trigger" in lambdas.names():
            from modelport.local.event_source import SqsEventSource

            sqs = self.cloud.aws.client("sqs")
            self.event_source = SqsEventSource(
                sqs, resources.queue_url(sqs, self.names),
                lambda event: lambdas.invoke("retrain-trigger", event), name="retrain-trigger",
            ).start()  # fmt: skip
            if "capture-indexer" in lambdas.names():
                self.capture_source = SqsEventSource(
                    sqs, resources.queue_url(sqs, self.names, self.names.capture_queue),
                    lambda event: lambdas.invoke("capture-indexer", event), name="capture-indexer",
                ).start()  # fmt: skip
        from modelport.local.event_source import SqsEventSource
        from modelport.local.logs import EventFeed

        sqs = self.cloud.aws.client("sqs")
        feed = resources.create_event_feed(self.cloud.aws.client, self.names)
        self.event_feed = SqsEventSource(sqs, feed, EventFeed(), name="event-feed").start()
        from modelport.local.scheduler import LocalScheduler

        self.scheduler = LocalScheduler(self.cloud.aws.client, interval_s=s.scheduler_interval_s).start()
        self.gateway.start()
        threading.Thread(target=self._create_workflows, name="workflows", daemon=True).start()
        self._wrote_ready_file = True
        write_json_atomic(s.state_dir / "local.json", {
            "api_url": self.api_url, "aws_url": self.aws_url, "pid": os.getpid(),
            "state_dir": str(self.state_dir),
        })  # fmt: skip

    def _recover(self, started_at: float) -> None:
        """End what the last run's crash interrupted (before the API opens), then make the
        endpoints agree with the registry once they are back (in the background)."""
        from functions.adapters import wiring
        from modelport.local.platform.recovery import Recovery

        assert self.cloud is not None
        self.recovery = Recovery(
            wiring.deps(), self.cloud.aws.client("dynamodb"), self.cloud.aws.client("sagemaker"),
            table=self.names.table, stage=self.settings.stage, started_at=started_at,
            state_dir=self.settings.state_dir, orphans=self.cloud.orphans,
        )
        self.recovery.records()
        threading.Thread(target=self.recovery.endpoints, args=(self.settings.health_timeout_s * 2,),
                         name="recovery", daemon=True).start()

    def stop(self) -> None:
        """Stop everything this platform started; the embedded AWS writes a last snapshot."""
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        for source in (self.event_source, self.event_feed, self.capture_source, self.scheduler):
            if source is not None:
                source.stop()
        self.event_source = self.event_feed = self.capture_source = self.scheduler = None
        if self.cloud is not None and self._cloud_started:
            try:
                self.cloud.stop()  # also releases the state directory's lock
            finally:
                self._cloud_started = False
        self.cloud = None
        if self._wrote_ready_file:
            (self.settings.state_dir / "local.json").unlink(missing_ok=True)
            self._wrote_ready_file = False
        self._restore_env()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        reset_handler_caches()

    def _create_workflows(self) -> None:
        """State machines from the ASL files (after the API is up), then warm the handlers."""
        try:
            assert self.cloud is not None
            sfn = self.cloud.aws.client("stepfunctions")
            resources.create_state_machines(sfn, self.settings, self.names, self.cloud.aws.lambdas.arn)
        except Exception as exc:
            log.exception("creating the state machines failed")
            self.workflows.open(f"{type(exc).__name__}: {exc}")
        else:
            self.workflows_ready_s = time.perf_counter() - self._started_at
            self.workflows.open()
            self._restore_schedules()
        warm_handlers((*resources.API_FUNCTIONS.values(), *resources.WORKFLOW_FUNCTIONS.values()))
        self.warmed.set()

    def _restore_schedules(self) -> None:
        """Drift-monitoring schedules from the registry: the embedded Scheduler keeps none
        across restarts, and every deployed alias has one (its deployment put it)."""
        try:
            from functions.adapters import wiring
            from functions.adapters.monitoring import MonitorSchedules
            from functions.core import monitoring_schedules

            env, names = self.names.environment(self.settings), self.names
            schedules = MonitorSchedules(self.client("scheduler"), names.schedule_group,
                                         env["MODELPORT_MONITOR_STATE_MACHINE_ARN"], env["MODELPORT_SCHEDULER_ROLE_ARN"])
            monitoring_schedules.sync_all(wiring.deps(), schedules)
        except Exception:
            log.exception("restoring the drift-monitoring schedules failed")

    def wait_for_workflows(self) -> bool:
        """Block until the state machines exist; False when they could not be created."""
        try:
            self.workflows.wait()
        except RuntimeError:
            return False
        return True
