"""Router for `/v1/keys`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, Field

from functions.adapters import http, wiring
from functions.adapters.idempotency import run_once
from functions.core import apikeys
from functions.core import rotation as rotation_
from functions.core.apikeys import Identity
from functions.core.models import ApiKeyInfo, NewKey
from functions.core.rotation import Rotation
from functions.registry.models import Cursor, Limit

router = Router()
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="key id")]


class CreatedKeyOut(BaseModel):
    key: ApiKeyInfo
    token: str | None = Field(
        description="`Authorization: Bearer <token>`. Shown once: null when an Idempotency-Key replays the creation."
    )


@router.post(
    "/v1/keys",
    summary="Create an API key (admin); the token is in this response only",
    responses={201: {"description": "created"}},
    tags=["keys"],
)
def create_key(key: Annotated[NewKey, Body()]) -> Response[CreatedKeyOut]:
    ctx = http.caller(router)
    shown: list[str] = []

    def work() -> dict:
        created = apikeys.create_key(wiring.deps(), ctx, key)
        shown.append(created.token)
        # Only the key's public fields are remembered for Idempotency-Key replays: never the token.
        return created.info.model_dump(mode="json")

    info = run_once(
        function="keys", route="POST /v1/keys", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context, body=key.model_dump(mode="json"), work=work,
    )  # fmt: skip
    return http.created({"key": info, "token": shown[0] if shown else None})


@router.get(
    "/v1/keys",
    summary="List API keys (admin), by owner then id; `owner` lists one owner's",
    description="`last_used_at` is sampled: it may lag the key's last use by up to an hour.",
    tags=["keys"],
)
def list_keys(
    limit: Limit = 50,
    cursor: Cursor = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=256, description="one owner's keys")] = None,
) -> http.PageOut[ApiKeyInfo]:
    page = apikeys.list_keys(wiring.deps(), http.caller(router), limit=limit, cursor=cursor, owner=owner)
    return http.page_out(page)


class RotatedKeyOut(BaseModel):
    key: ApiKeyInfo
    token: str | None = Field(
        description="the successor's token. Shown once: null when an Idempotency-Key replays the rotation."
    )
    previous: ApiKeyInfo


@router.post(
    "/v1/keys/<key_id>/rotate",
    summary="Rotate an API key (admin): a successor with the same roles and patterns; the old key expires after the grace period",
    responses={201: {"description": "the successor (token shown once) and the old key, now expiring"}},
    tags=["keys"],
)
def rotate_key(key_id: KeyId, rotation: Annotated[Rotation, Body()]) -> Response[RotatedKeyOut]:
    ctx = http.caller(router)
    shown: list[str] = []

    def work() -> dict:
        rotated = rotation_.rotate_key(wiring.deps(), ctx, key_id, rotation)
        shown.append(rotated.successor.token)
        # what an Idempotency-Key replay answers: never the token
        return {"key": rotated.successor.info.model_dump(mode="json"),
                "previous": rotated.previous.model_dump(mode="json")}

    body = run_once(
        function="keys", route=f"POST /v1/keys/{key_id}/rotate", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context,
        body=rotation.model_dump(mode="json"), work=work,
    )  # fmt: skip
    return http.created({**body, "token": shown[0] if shown else None})


@router.delete("/v1/keys/<key_id>", summary="Revoke an API key (admin)", tags=["keys"])
def revoke_key(key_id: KeyId) -> ApiKeyInfo:
    return apikeys.revoke_key(wiring.deps(), http.caller(router), key_id).model_dump(mode="json")


@router.get(
    "/v1/whoami",
    summary="The calling key: its public fields and what its roles may do",
    description="Any active key may ask. `permissions` lists every action with whether this key's roles allow it "
    "and which roles would; model patterns still decide per model.",
    tags=["keys"],
)
def whoami() -> Identity:
    return apikeys.whoami(wiring.deps(), http.caller(router)).model_dump(mode="json")
