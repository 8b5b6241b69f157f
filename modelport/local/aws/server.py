"""`EmbeddedAWS`: moto's server application behind our front, on one loopback port.

One per process: moto's backends and `MOTO_PORT` (the address moto's Step Functions
interpreter sends every Task's service call to) are process-wide.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, ClassVar, Self

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from modelport.local.aws import credentials, sfn_compat
from modelport.local.aws.credentials import Credentials
from modelport.local.aws.front import Front
from modelport.local.aws.guard import Guard
from modelport.local.aws.journal import Durable
from modelport.local.aws.lambdas import LambdaRegistry
from modelport.local.settings import LocalSettings
from modelport.local.wsgi import ServerThread

log = logging.getLogger(__name__)

#: moto must run ASL (not return canned executions) and must not look for Docker.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


class EmbeddedAWS:
    """The embedded AWS of `modelport local`: start(), use `url` / `client()`, stop()."""

    _running: ClassVar[EmbeddedAWS | None] = None
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self.lambdas = LambdaRegistry(settings.region, settings.account_id)
        self._moto = DomainDispatcherApplication(create_backend_app)
        self.durable = Durable(
            self._moto, settings.state_dir / "aws", client=self.client, account=settings.account_id,
            region=settings.region, fsync=settings.fsync, min_journal_bytes=settings.journal_compact_bytes,
        )
        self.front = Front(self.durable, self.lambdas)
        self._port = settings.aws_port
        self._server: ServerThread | None = None
        #: this run's key pair (each process running local mode makes its own; a restart of
        #: this object keeps it, so its clients keep working); every request must be signed with it
        self.credentials = Credentials.new()
        self._session = self._new_session()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._stop = threading.Event()
        self._snapshots: threading.Thread | None = None
        self._previous_env: dict[str, str | None] = {}
        self._previous_config: dict | None = None
        self.ready_s = 0.0

    # -- addresses and clients ------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the embedded AWS is not running")
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client of `service` bound to this embedded AWS (cached, thread-safe to use)."""
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                client = self._session.client(
                    service, endpoint_url=self.url,
                    config=Config(retries={"mode": "standard", "max_attempts": 2},
                                  signature_version="s3v4" if service == "s3" else None),
                )
                self._clients[service] = client
            return client

    def environment(self) -> dict[str, str]:
        """Environment for the platform's own code that builds its own boto3 clients (the
        in-process handlers); never given to endpoint or training processes."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": self.settings.region,
            "AWS_REGION": self.settings.region,
        }

    def _new_session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=self.settings.region, **self.credentials.boto3())

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, *, restore: bool = True) -> EmbeddedAWS:
        """Serve on loopback, restore the last snapshot and replay the journal after it,
        compact the journal into a new snapshot when it has grown."""
        started = time.perf_counter()
        with EmbeddedAWS._guard:
            if EmbeddedAWS._running is not None:
                raise RuntimeError(
                    "an embedded AWS already runs in this process (moto's state and MOTO_PORT "
                    "are process-wide); stop it first"
                )
            EmbeddedAWS._running = self
        try:
            sfn_compat.use_credentials(self.credentials)
            door = Guard(self.front, self.credentials, host=self.settings.host)
            self._server = ServerThread(door, self.settings.host, self._port, "embedded AWS")
            self._port = self._server.port  # a restart keeps the port clients know
            self._configure_moto()
            self._server.start()
            credentials.write(self.settings.state_dir, self.credentials, self.url, self.settings.region)
            self.durable.restore(from_disk=restore)
        except BaseException:
            self._release()
            raise
        self._stop.clear()
        if self.settings.snapshot_interval_s > 0:
            self._snapshots = threading.Thread(
                target=self._snapshot_loop, name="aws-snapshots", daemon=True
            )
            self._snapshots.start()
        self.ready_s = time.perf_counter() - started
        log.info("embedded AWS ready on %s in %.3fs", self.url, self.ready_s)
        return self

    def stop(self, *, snapshot: bool = True) -> None:
        """Compact the journal into a final snapshot (stop what calls the AWS APIs first),
        then shut down. Without it the next start replays the journal: nothing is lost."""
        if self._server is None:
            return
        self._stop.set()
        if self._snapshots is not None:
            self._snapshots.join(timeout=30)
            self._snapshots = None
        try:
            if snapshot:
                self.durable.checkpoint()
        finally:
            self._release()

    def snapshot_now(self) -> None:
        self.durable.checkpoint()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------
    def _configure_moto(self) -> None:
        moto_api = Client(self._moto)
        self._previous_config = moto_api.get("/moto-api/config").json
        # A fresh start holds exactly what the snapshot holds, nothing left from before.
        moto_api.post("/moto-api/reset")
        moto_api.post("/moto-api/config", json=MOTO_CONFIG)
        for name, value in {"MOTO_PORT": str(self._port)}.items():
            self._previous_env[name] = os.environ.get(name)
            os.environ[name] = value

    def _snapshot_loop(self) -> None:
        while not self._stop.wait(self.settings.snapshot_interval_s):
            if self.durable.needs_checkpoint():
                try:
                    self.durable.checkpoint()
                except Exception:  # the journal keeps everything; the next check retries
                    log.exception("compacting the embedded AWS's journal failed")

    def _release(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            credentials.remove(self.settings.state_dir)
        self.durable.close()
        for name, value in self._previous_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._previous_env.clear()
        if self._previous_config is not None:
            Client(self._moto).post("/moto-api/config", json=self._previous_config)
            self._previous_config = None
        with self._clients_lock:
            self._clients.clear()
        with EmbeddedAWS._guard:
            if EmbeddedAWS._running is self:
                EmbeddedAWS._running = None
