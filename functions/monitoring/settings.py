"""Settings of the monitoring Lambdas: one pydantic-settings class per deployable, on top of
the control plane's (`MODELPORT_*`, docs/contracts.md "Settings")."""

from __future__ import annotations

from pydantic import Field

from functions.adapters.settings import ControlPlaneSettings


class MonitoringApiSettings(ControlPlaneSettings):
    """Lambda `monitoring`: `/v1/models/{name}/monitoring[...]` and `/feedback`."""

    captures_bucket: str = Field(min_length=1)
    monitor_state_machine_arn: str = Field(min_length=1)
    workflow_poll_seconds: int = Field(default=30, ge=0, le=3600)
    #: lifetime of the presigned link to a report's HTML page.
    report_url_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)


class MonitorStepsSettings(ControlPlaneSettings):
    """Lambda `monitor steps`: the Task steps of `monitor.asl.json`."""

    captures_bucket: str = Field(min_length=1)
    datasets_bucket: str = Field(min_length=1)
    #: the drift job runs on Modelport's CPU image.
    cpu_image_uri: str | None = None
    workflow_poll_seconds: int = Field(default=30, ge=0, le=3600)
    processing_max_runtime_seconds: int = Field(default=3600, ge=60, le=5 * 24 * 3600)
    processing_volume_gb: int = Field(default=30, ge=1, le=16384)
    #: earlier runs of the alias whose scores the report draws over time.
    history_runs: int = Field(default=30, ge=0, le=500)


class IndexerSettings(ControlPlaneSettings):
    """Lambda `capture indexer`: SQS batches of S3 notifications of new capture files."""

    captures_bucket: str = Field(min_length=1)
