"""Settings of `modelport local`: the one pydantic-settings class of the local deployable.

Every knob of the embedded AWS, the SQS event source and the local SageMaker lives here
(prefix `MODELPORT_LOCAL_`), so that nothing else in `modelport.local` reads the
environment. Tests build instances directly with the values they need.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LocalSettings(BaseSettings):
    """Configuration of the platform on one machine."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_LOCAL_", extra="ignore")

    #: where all local state lives (snapshots, SageMaker records, model dirs, logs).
    state_dir: Path = Path(".modelport/local")
    #: loopback address every local server binds.
    host: str = "127.0.0.1"
    #: port of the embedded AWS front (moto + Lambda + SageMaker); 0 picks a free one.
    aws_port: int = Field(default=0, ge=0, le=65535)
    region: str = "us-east-1"
    #: moto's default account; ARNs built locally use it too.
    account_id: str = "123456789012"

    #: seconds between checks whether the embedded AWS's journal should be compacted into a
    #: new snapshot (0: only on stop). Durability does not depend on it: every acknowledged
    #: write is in the journal first.
    snapshot_interval_s: float = Field(default=2.0, ge=0)
    #: compact once the journal since the last snapshot exceeds this, or the snapshot's
    #: own size if larger (so a write's share of the snapshot cost never grows with the state).
    journal_compact_bytes: int = Field(default=8 << 20, ge=0)
    #: fdatasync the journal and blobs before answering (off: a process crash still loses
    #: nothing, as the kernel keeps what was written; only a power loss could).
    fsync: bool = True

    #: module run as `python -m <module>` for endpoint instances (the serving container).
    serving_module: str = "model_containers.serving"
    #: module run as `python -m <module>` for training jobs (the training container).
    training_module: str = "model_containers.training"
    #: module run as `python -m <module>` for processing jobs (the drift job).
    processing_module: str = "model_containers.monitoring"
    #: images whose repository name contains this run the modules above; others fail.
    image_marker: str = "modelport"
    #: the most an endpoint's `model.tar.gz` may unpack to (its files are also held to the
    #: sizes its `modelport.json` declares): a decompression bomb is refused, not unpacked.
    max_unpacked_model_bytes: int = Field(default=20 << 30, ge=1)
    #: how long a new instance may take to answer `GET /ping` with 200.
    health_timeout_s: float = Field(default=60.0, gt=0)
    #: interval of health polling while an instance starts.
    health_poll_s: float = Field(default=0.1, gt=0)
    #: timeout of one request forwarded to an endpoint instance.
    invoke_timeout_s: float = Field(default=60.0, gt=0)
    #: serving workers per endpoint instance (`MODELPORT_WORKERS`).
    serving_workers: int = Field(default=1, ge=1)
    #: blue/green: roll back when the green fleet's share of failed invocations
    #: (container errors or unreachable) during a baking period exceeds this ...
    rollback_error_rate: float = Field(default=0.5, ge=0, le=1)
    #: ... once at least this many invocations reached the green fleet.
    rollback_min_invocations: int = Field(default=5, ge=1)
    #: interval of alarm and error-rate checks during a baking period.
    bake_check_s: float = Field(default=1.0, gt=0)
    #: interval of the check that replaces endpoint instances whose process exited.
    supervise_interval_s: float = Field(default=5.0, gt=0)
    #: interval of the target-tracking autoscaler (SageMakerVariantInvocationsPerInstance).
    autoscale_interval_s: float = Field(default=60.0, gt=0)
    #: endpoints' data capture reaches S3 at most this long after the invocation
    #: (SageMaker takes minutes; local mode writes what accumulated this often).
    capture_flush_s: float = Field(default=1.0, gt=0)
