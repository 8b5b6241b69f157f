"""Router for `/v1/models/{name}/aliases`: set and list aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from functions.adapters import http, wiring
from functions.core import governance, history
from functions.core.models import Alias
from functions.core.periods import AliasPeriod
from functions.core.records import Page
from functions.registry.models import Cursor, Limit, ModelName

router = Router()
AliasName = Annotated[str, Path(max_length=32, description="alias name, e.g. production")]


class AliasTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(max_length=64, description="a version spec; the alias is pinned to what it resolves to now")


class AliasList(BaseModel):
    items: list[Alias]


@router.put(
    "/v1/models/<name>/aliases/<alias>",
    summary="Point an alias at a version (production needs an approved version by default)",
    tags=["aliases"],
)
def set_alias(name: ModelName, alias: AliasName, target: Annotated[AliasTarget, Body()]) -> Alias:
    record = governance.set_alias(wiring.deps(), http.caller(router), name, alias, target.version)
    return record.model_dump(mode="json")


@router.get("/v1/models/<name>/aliases", summary="List aliases", tags=["aliases"])
def list_aliases(name: ModelName) -> AliasList:
    aliases = governance.list_aliases(wiring.deps(), http.caller(router), name)
    return {"items": [a.model_dump(mode="json") for a in aliases]}


@router.get(
    "/v1/models/<name>/aliases/<alias>/history",
    summary="Production history of an alias, newest first; `at` answers what served at that time",
    description=(
        "Each period has `start`, `end` (null while it lasts), `version`, `endpoint` (null when "
        "nothing served it), `moved_by` and `deployment_id`. With `at` (RFC 3339, with its UTC "
        "offset) the page holds the one period that covered that time, or none (before the "
        "alias's first move): one DynamoDB request."
    ),
    tags=["aliases"],
)
def alias_history(
    name: ModelName,
    alias: AliasName,
    at: Annotated[datetime | None, Query(description="RFC 3339 time, e.g. 2025-01-31T12:00:00Z")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> http.PageOut[AliasPeriod]:
    deps, ctx = wiring.deps(), http.caller(router)
    if at is not None:
        found = history.served_at(deps, ctx, name, alias, at)
        return http.page_out(Page([found] if found else []))
    return http.page_out(history.list_history(deps, ctx, name, alias, limit=limit, cursor=cursor))
