"""Router for `/v1/models/{name}/versions/{version}/(submit|approve|reject|archive)`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from functions.adapters import http, wiring
from functions.core import governance, revalidation
from functions.core.models import ModelVersion
from functions.registry.models import ModelName

router = Router()
#: An exact version; the path variable is `spec` because API Gateway siblings share names.
ExactVersion = Annotated[str, Path(pattern=r"^\d{1,5}\.\d{1,5}\.\d{1,5}$", description="exact version, e.g. 1.2.3")]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)


def _comment(decision: Decision | None) -> str | None:
    return decision.comment if decision else None


@router.post(
    "/v1/models/<name>/versions/<spec>/submit",
    summary="Submit a version for approval (needs a complete model card and a verified artifact)",
    tags=["approvals"],
)
def submit(name: ModelName, spec: ExactVersion) -> ModelVersion:
    version = governance.submit(wiring.deps(), http.caller(router), name, spec)
    return version.model_dump(mode="json")


@router.post(
    "/v1/models/<name>/versions/<spec>/approve",
    summary="Approve a version (four eyes: never by its publisher)",
    tags=["approvals"],
)
def approve(name: ModelName, spec: ExactVersion, decision: Annotated[Decision | None, Body()] = None) -> ModelVersion:
    version = governance.approve(wiring.deps(), http.caller(router), name, spec, _comment(decision))
    http.metrics.add_metric(name="VersionsApproved", unit=MetricUnit.Count, value=1)
    return version.model_dump(mode="json")


@router.post("/v1/models/<name>/versions/<spec>/reject", summary="Reject a version", tags=["approvals"])
def reject(name: ModelName, spec: ExactVersion, decision: Annotated[Decision | None, Body()] = None) -> ModelVersion:
    version = governance.reject(wiring.deps(), http.caller(router), name, spec, _comment(decision))
    return version.model_dump(mode="json")


@router.post("/v1/models/<name>/versions/<spec>/archive", summary="Archive a version", tags=["approvals"])
def archive(name: ModelName, spec: ExactVersion, decision: Annotated[Decision | None, Body()] = None) -> ModelVersion:
    version = governance.archive(wiring.deps(), http.caller(router), name, spec, _comment(decision))
    return version.model_dump(mode="json")


@router.post(
    "/v1/models/<name>/versions/<spec>/revalidate",
    summary="Revalidate an approved version (an approver, never its publisher); production's revalidation date moves on",
    tags=["approvals"],
)
def revalidate(name: ModelName, spec: ExactVersion,
               decision: Annotated[Decision | None, Body()] = None) -> ModelVersion:
    version = revalidation.revalidate(wiring.deps(), http.caller(router), name, spec, _comment(decision))
    return version.model_dump(mode="json")
