"""Settings of `modelport local up`: the local deployable's settings plus what the
composition adds (gateway, authorizer cache, stage). Same prefix, `MODELPORT_LOCAL_`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from modelport.local.settings import LocalSettings

#: what a SageMaker image URI must contain for the local SageMaker to run it here.
LOCAL_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/modelport-{kind}:local"


class PlatformSettings(LocalSettings):
    """`LocalSettings` (embedded AWS, local SageMaker) + the gateway and naming of local mode."""

    #: port of the API (the local API Gateway); 0 picks a free one.
    gateway_port: int = Field(default=7070, ge=0, le=65535)
    #: API Gateway's authorizer result cache TTL (0 turns caching off).
    authorizer_ttl_s: float = Field(default=300.0, ge=0, le=3600)
    #: stage name: part of endpoint names (`mp-local-<model>-<alias>-<hash>`).
    stage: str = "local"
    #: the REST API id and stage that the authorizer-cache flush names.
    rest_api_id: str = "local"
    api_stage_name: str = "local"
    #: owner recorded on the admin key created at first start.
    admin_owner: str = "local-admin"
    #: SQS receives of a dataset notification before it goes to the dead-letter queue.
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    #: seconds between the workflows' Describe polls (their Wait states).
    workflow_poll_seconds: int = Field(default=1, ge=0, le=60)
    #: handler threads of the gateway.
    gateway_workers: int = Field(default=16, ge=1, le=256)
    #: a request's headers must all arrive within this many seconds, or the gateway closes
    #: the connection (slow or partial headers would otherwise hold it forever).
    gateway_header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: connections and requests the gateway holds at once; past it, it answers 503.
    gateway_max_connections: int = Field(default=1024, ge=1, le=65536)
    #: the web console's build served at /console/ (default: console/dist of this checkout).
    console_dir: Path | None = None
    #: how often the local EventBridge Scheduler looks for due schedules (drift monitoring).
    scheduler_interval_s: float = Field(default=5.0, gt=0)

    def name(self, suffix: str) -> str:
        """Physical name of a local resource."""
        return f"modelport-{self.stage}-{suffix}"

    def image(self, kind: str) -> str:
        return LOCAL_IMAGE.format(account=self.account_id, region=self.region, kind=kind)
