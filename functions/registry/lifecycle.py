"""Router for a model's lifecycle: `PATCH /v1/models/{name}` (JSON Merge Patch with
`If-Match`), retire, and the pending changes a second person confirms."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from functions.adapters import http, wiring
from functions.core import lifecycle
from functions.core.errors import InvalidInput
from functions.core.lifecycle import CHANGE_ID_RE, ModelChange
from functions.core.models import Model
from functions.registry.models import Cursor, Limit, ModelName

router = Router()
ChangeId = Annotated[str, Path(pattern=CHANGE_ID_RE, description="a pending change's id")]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


def with_etag(model: Model, status: HTTPStatus = HTTPStatus.OK) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=model.model_dump(mode="json"), headers={"ETag": lifecycle.etag(model)})


def _header(name: str) -> str | None:
    return next((v for k, v in (router.current_event.headers or {}).items() if k.lower() == name), None)


def _patch_body() -> Any:
    raw = router.current_event.body
    if not raw:
        raise InvalidInput("send the merge patch as the body", [{"path": "body", "message": "missing"}])
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput("the body is not valid JSON", [{"path": "body", "message": "invalid JSON"}]) from None


@router.patch(
    "/v1/models/<name>",
    summary="Change a model's settings (JSON Merge Patch, If-Match)",
    description=(
        "A JSON Merge Patch (RFC 7386; `application/merge-patch+json` or `application/json`) of "
        "`description`, `owner`, `policy` and `training`: members replace, objects merge, `null` "
        "restores a member's default. `If-Match` must carry the model's ETag (its `revision`); a "
        "stale one is 412, none is 428. Publishers and admins (approvers: `policy` only); the trust flags (`require_approval`, "
        "`allow_pickle`, `allow_code`) need an approver or admin too. A change that loosens the "
        "policy is not applied: it answers 202 with a pending change that another approver or "
        "admin confirms (`POST .../changes/{change_id}/confirm`)."
    ),
    responses={202: {"description": "a pending change, waiting for a second person"},
               412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}},
    tags=["models"],
)
def update_model(name: ModelName) -> Response[Model | ModelChange]:
    updated = lifecycle.update_model(wiring.deps(), http.caller(router), name, _patch_body(),
                                     if_match=_header("if-match"))
    if updated.change is not None:
        return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON,
                        body=updated.change.model_dump(mode="json"),
                        headers={"Location": f"/v1/models/{name}/changes/{updated.change.id}"})
    return with_etag(updated.model)


@router.post(
    "/v1/models/<name>/retire",
    summary="Retire a model (read-only from then on); refused while an alias is deployed",
    description="`If-Match` is optional here; when sent, a stale revision is 412.",
    tags=["models"],
)
def retire_model(name: ModelName, retirement: Annotated[Retirement | None, Body()] = None) -> Model:
    model = lifecycle.retire_model(wiring.deps(), http.caller(router), name,
                                   reason=retirement.reason if retirement else None, if_match=_header("if-match"))
    return with_etag(model)


@router.get("/v1/models/<name>/changes", summary="A model's requested changes, newest first", tags=["models"])
def list_changes(name: ModelName, limit: Limit = 50, cursor: Cursor = None) -> http.PageOut[ModelChange]:
    return http.page_out(lifecycle.list_changes(wiring.deps(), http.caller(router), name, limit=limit, cursor=cursor))


@router.get("/v1/models/<name>/changes/<change_id>", summary="A requested change", tags=["models"])
def get_change(name: ModelName, change_id: ChangeId) -> ModelChange:
    return lifecycle.get_change(wiring.deps(), http.caller(router), name, change_id).model_dump(mode="json")


@router.post(
    "/v1/models/<name>/changes/<change_id>/confirm",
    summary="Confirm a pending change (a second approver or admin, never its requester); applies it",
    tags=["models"],
)
def confirm_change(name: ModelName, change_id: ChangeId,
                   decision: Annotated[Decision | None, Body()] = None) -> ModelChange:
    decided = lifecycle.decide_change(wiring.deps(), http.caller(router), name, change_id, confirm=True,
                                      comment=decision.comment if decision else None)
    assert decided.change is not None
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON,
                    body=decided.change.model_dump(mode="json"), headers={"ETag": lifecycle.etag(decided.model)})


@router.post(
    "/v1/models/<name>/changes/<change_id>/reject",
    summary="Reject a pending change (an approver, an admin, or its requester withdrawing it)",
    tags=["models"],
)
def reject_change(name: ModelName, change_id: ChangeId,
                  decision: Annotated[Decision | None, Body()] = None) -> ModelChange:
    decided = lifecycle.decide_change(wiring.deps(), http.caller(router), name, change_id, confirm=False,
                                      comment=decision.comment if decision else None)
    assert decided.change is not None
    return decided.change.model_dump(mode="json")
