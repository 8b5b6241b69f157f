"""Router for `/v1/models/{name}/aliases`: set and list aliases."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from functions.adapters import http, wiring
from functions.core import governance
from functions.core.models import Alias
from functions.registry.models import ModelName

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
