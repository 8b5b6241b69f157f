"""API Gateway adapter: flush the stage's authorizer cache so routing changes at once."""

from __future__ import annotations

from typing import Any


class AuthorizerCache:
    def __init__(self, client: Any, rest_api_id: str, stage: str) -> None:
        self._apigateway = client
        self._api = rest_api_id
        self._stage = stage

    def flush(self) -> None:
        self._apigateway.flush_stage_authorizers_cache(restApiId=self._api, stageName=self._stage)
