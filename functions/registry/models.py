"""Router for `/v1/models`: create, list and get models."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from functions.adapters import http, wiring
from functions.adapters.idempotency import run_once
from functions.core import registry
from functions.core.models import MODEL_NAME_RE, Model, NewModel
from functions.core.revalidation import ModelView

router = Router()
ModelName = Annotated[str, Path(pattern=MODEL_NAME_RE, description="model name")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="from the previous page")]


@router.post(
    "/v1/models",
    summary="Create a model",
    description="Idempotent with an `Idempotency-Key` header.",
    responses={201: {"description": "created"}, 409: {"description": "exists"}},
    tags=["models"],
)
def create_model(model: Annotated[NewModel, Body()]) -> Response[Model]:
    ctx = http.caller(router)

    def work() -> dict:
        return registry.create_model(wiring.deps(), ctx, model).model_dump(mode="json")

    body = run_once(
        function="registry", route="POST /v1/models", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context, body=model.model_dump(mode="json"), work=work,
    )  # fmt: skip
    http.metrics.add_metric(name="ModelsCreated", unit=MetricUnit.Count, value=1)
    return http.created(body)


@router.get(
    "/v1/models",
    summary="List models (by name, paginated)",
    description=(
        "Active models unless `status` is `retired` or `all`; `revalidation_overdue` flags a production "
        "version past its revalidation date (`overdue=true` lists only those). A page may hold fewer "
        "than `limit` items."
    ),
    tags=["models"],
)
def list_models(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["active", "retired", "all"], Query(description="which models")] = "active",
    overdue: Annotated[bool, Query(description="only models whose production is overdue for revalidation")] = False,
) -> http.PageOut[ModelView]:
    page = registry.list_models(wiring.deps(), http.caller(router), limit=limit, cursor=cursor, status=status,
                                overdue=overdue)
    return http.page_out(page)


@router.get("/v1/models/<name>", summary="Get a model (its ETag is its revision)", tags=["models"])
def get_model(name: ModelName) -> Response[ModelView]:
    from functions.registry.lifecycle import with_etag

    return with_etag(registry.get_model(wiring.deps(), http.caller(router), name))
