"""Router for `/v1/models/{name}/versions`: publish, list and resolve versions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from functions.adapters import http, wiring
from functions.adapters.idempotency import run_once
from functions.core import registry
from functions.core.models import ModelVersion, NewVersion
from functions.core.ports import Upload
from functions.registry.models import Cursor, Limit, ModelName

router = Router()
Spec = Annotated[str, Path(max_length=64, description="1.2.3, 1.2.x, 1.x, latest or an alias")]


class PublishedOut(BaseModel):
    version: ModelVersion
    #: PUT the artifact to `upload.url` with exactly `upload.headers`.
    upload: Upload | None


@router.post(
    "/v1/models/<name>/versions",
    summary="Publish a version",
    description=(
        "Give `version` (explicit) or `bump` (major, minor, patch), the SHA-256 and size of "
        "model.tar.gz. The response carries a presigned PUT that S3 accepts only with that "
        "checksum. Idempotent with an `Idempotency-Key` header."
    ),
    responses={201: {"description": "published"}, 409: {"description": "the version exists"}},
    tags=["versions"],
)
def publish_version(name: ModelName, version: Annotated[NewVersion, Body()]) -> Response[PublishedOut]:
    ctx = http.caller(router)

    def work() -> dict:
        published = registry.publish_version(wiring.deps(), ctx, name, version)
        return PublishedOut(version=published.version, upload=published.upload).model_dump(mode="json")

    body = run_once(
        function="registry", route=f"POST /v1/models/{name}/versions", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context, body=version.model_dump(mode="json"), work=work,
    )  # fmt: skip
    http.metrics.add_metric(name="VersionsPublished", unit=MetricUnit.Count, value=1)
    return http.created(body)


@router.get("/v1/models/<name>/versions", summary="List versions, newest first", tags=["versions"])
def list_versions(name: ModelName, limit: Limit = 50, cursor: Cursor = None) -> http.PageOut[ModelVersion]:
    page = registry.list_versions(wiring.deps(), http.caller(router), name, limit=limit, cursor=cursor)
    return http.page_out(page)


@router.get("/v1/models/<name>/versions/<spec>", summary="Resolve a version spec", tags=["versions"])
def resolve_version(name: ModelName, spec: Spec) -> ModelVersion:
    return registry.resolve(wiring.deps(), http.caller(router), name, spec).model_dump(mode="json")
