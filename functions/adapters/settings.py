"""Settings of the control-plane Lambdas (authorizer, registry, versioning, keys, audit)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ControlPlaneSettings(BaseSettings):
    """Read from `MODELPORT_*` environment variables (set by the CDK app or local mode)."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")

    #: stage name (`dev`, `prod`, `local`); part of endpoint names.
    stage: str = Field(min_length=1)
    #: the single metadata table (also holds idempotency records).
    table_name: str = Field(min_length=1)
    #: the append-only audit table.
    audit_table_name: str = Field(min_length=1)
    #: bucket of model artifacts (`models/<name>/<version>/model.tar.gz`).
    artifacts_bucket: str = Field(min_length=1)
    #: EventBridge bus for platform events; None sends none.
    event_bus_name: str | None = None
    #: REST API id and stage whose authorizer cache is flushed when a key is revoked or an
    #: alias moves; without them nothing is flushed.
    rest_api_id: str | None = None
    api_stage_name: str | None = None
    #: lifetime of presigned artifact uploads.
    upload_expiry_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    #: how long an Idempotency-Key is remembered.
    idempotency_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    #: largest accepted JSON body of a control-plane request.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    #: the web console's origin (`https://<CloudFront domain>`): the only origin the API answers
    #: CORS for; None (local mode, where the gateway serves the console itself) answers none.
    #: Compared with the request's `Origin` exactly (scheme, host, port; no path).
    console_origin: str | None = None
    #: attempts of a change that lost a race on its chain head.
    retry_attempts: int = Field(default=8, ge=1, le=100)
