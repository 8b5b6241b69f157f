"""Composition root of the control-plane Lambdas: settings → boto3 clients → `Deps`.

Everything is built on first use and then kept for the life of the execution
environment, so importing a handler stays cheap (no boto3 import at init) and warm
invocations reuse the clients.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.adapters.settings import ControlPlaneSettings
    from functions.core.ports import Deps


@lru_cache(maxsize=1)
def settings() -> ControlPlaneSettings:
    from functions.adapters.settings import ControlPlaneSettings

    return ControlPlaneSettings()  # type: ignore[call-arg] - filled from the environment


@cache
def client(service: str) -> Any:
    """One boto3 client per service; endpoints come from `AWS_ENDPOINT_URL*` (local mode)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard"}, signature_version="s3v4" if service == "s3" else None)
    return boto3.session.Session().client(service, config=config)


@lru_cache(maxsize=1)
def deps() -> Deps:
    return build_deps(settings(), client)


def build_deps(config: ControlPlaneSettings, clients: Any) -> Deps:
    """Wire the adapters for `config`; `clients(service)` returns a boto3 client."""
    from functions.adapters.dynamodb import DynamoStore
    from functions.adapters.events import EventBridgePublisher
    from functions.adapters.s3 import S3Artifacts
    from functions.core.ports import Deps, NoCache, NoEvents, utcnow

    store = DynamoStore(clients("dynamodb"), config.table_name, config.audit_table_name)
    return Deps(
        store=store,
        audit=store,
        artifacts=S3Artifacts(
            clients("s3"), config.artifacts_bucket, expires_in=config.upload_expiry_seconds, clock=utcnow
        ),
        events=EventBridgePublisher(clients("events"), config.event_bus_name) if config.event_bus_name else NoEvents(),
        authorizer_cache=(
            FlushAuthorizers(clients, config.rest_api_id, config.api_stage_name)
            if config.rest_api_id and config.api_stage_name
            else NoCache()
        ),
        retry_attempts=config.retry_attempts,
    )


class FlushAuthorizers:
    """Best effort: the change is committed; a failed flush only delays it by the cache TTL."""

    def __init__(self, clients: Any, rest_api_id: str, stage: str) -> None:
        self._clients = clients
        self._api = rest_api_id
        self._stage = stage

    def flush(self) -> None:
        try:
            self._clients("apigateway").flush_stage_authorizers_cache(restApiId=self._api, stageName=self._stage)
        except Exception:
            logging.getLogger(__name__).exception("could not flush the authorizer cache")


def reset() -> None:
    """Forget cached settings, clients and deps (tests that change the environment)."""
    settings.cache_clear()
    client.cache_clear()
    deps.cache_clear()
