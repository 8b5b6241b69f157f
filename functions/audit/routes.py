"""Router for `/v1/audit`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from functions.adapters import http, wiring
from functions.core import auditing, evidence
from functions.core.audit import AuditEvent, VerifyResult
from functions.core.evidence_html import render
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


@router.get(
    "/v1/models/<name>/versions/<spec>/evidence",
    summary="The evidence pack of a version (approver, admin): JSON, or its readable HTML document",
    description=(
        "Model settings, card, lineage, metrics and the evaluation against the version it replaced, "
        "approvals and revalidations, deployments and production periods, monitoring summaries, and "
        "the version's audit events with the chain proof from the first of them to the chain head. "
        "`modelport evidence export` writes JSON + HTML into a zip that `modelport evidence verify` "
        "checks offline. No secrets and no key hashes."
    ),
    responses={200: {"description": "the pack (`format=json`) or its document (`format=html`)",
                     "content": {"application/json": {"schema": {"type": "object"}}, "text/html": {}}}},
    tags=["audit"],
)
def get_evidence(
    name: Annotated[str, Path(pattern=MODEL_NAME_RE)],
    spec: Annotated[str, Path(pattern=r"^\d{1,5}\.\d{1,5}\.\d{1,5}$", description="exact version, e.g. 1.2.3")],
    format: Annotated[Literal["json", "html"], Query(description="json (the pack) or html (its document)")] = "json",
):  # no return annotation: the HTML answer is not JSON (Powertools validates only annotated returns)
    pack = evidence.build_pack(wiring.deps(), http.caller(router), name, spec)
    if format == "html":
        return Response(status_code=HTTPStatus.OK, content_type="text/html; charset=utf-8", body=render(pack))
    return Response(status_code=HTTPStatus.OK, content_type="application/json", body=pack)
