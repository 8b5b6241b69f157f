"""Router for `/v1/audit`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from functions.adapters import http, wiring
from functions.core import auditing
from functions.core.audit import AuditEvent, VerifyResult
from functions.core.models import MODEL_NAME_RE
from functions.registry.models import Cursor, Limit

router = Router()
Chain = Annotated[str, Query(pattern=MODEL_NAME_RE, description="a model name, or `platform` for key events")]


class VerifyOut(BaseModel):
    ok: bool
    chains: list[VerifyResult]


@router.get("/v1/audit", summary="List a chain's audit events, newest first", tags=["audit"])
def list_events(chain: Chain, limit: Limit = 50, cursor: Cursor = None) -> http.PageOut[AuditEvent]:
    page = auditing.list_events(wiring.deps(), http.caller(router), chain, limit=limit, cursor=cursor)
    return http.page_out(page)


@router.get(
    "/v1/audit/verify",
    summary="Verify one chain, or every chain the caller may read",
    description="`ok` is false when any event was edited, removed or reordered; each failing chain names its first bad event.",
    tags=["audit"],
)
def verify(chain: Annotated[str | None, Query(pattern=MODEL_NAME_RE)] = None) -> VerifyOut:
    deps, ctx = wiring.deps(), http.caller(router)
    results = [auditing.verify(deps, ctx, chain)] if chain else auditing.verify_all(deps, ctx)
    return {"ok": all(r.ok for r in results), "chains": [r.model_dump(mode="json") for r in results]}
