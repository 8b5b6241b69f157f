"""Router for `/v1/models/{name}/datasets` and `/v1/models/{name}/retrains`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from functions.adapters import http
from functions.adapters.wiring import build_deps, client
from functions.core import retraining
from functions.core.ports import Deps
from functions.core.retraining import RETRAIN_ID_RE, DatasetUpload, NewDataset, Retrain
from functions.registry.models import Cursor, Limit, ModelName
from functions.workflows.settings import RetrainingSettings
from functions.workflows.wiring import once

router = Router()


@dataclass(frozen=True)
class ApiEnv:
    settings: RetrainingSettings
    deps: Deps


@once
def api_env() -> ApiEnv:
    settings = RetrainingSettings()  # type: ignore[call-arg] - from the environment
    return ApiEnv(settings=settings, deps=build_deps(settings, client))

RetrainId = Annotated[str, Path(pattern=RETRAIN_ID_RE, description="e.g. 20250101-120000-0123456789abcdef")]


@router.post(
    "/v1/models/<name>/datasets",
    summary="Get a presigned PUT for a training dataset (its upload starts a retrain)",
    description=(
        "Give the file's SHA-256 and size: S3 accepts the PUT only with exactly `upload.headers` "
        "(the checksum among them). The object lands under `datasets/<name>/`, which starts the "
        "retrain workflow. One retrain per model runs at a time: while one runs this is a 409 "
        "`RetrainInProgress` naming it (nothing is queued); a dataset that arrives anyway is "
        "recorded as a refused retrain."
    ),
    responses={201: {"description": "upload URL issued"},
               409: {"description": "another retrain of the model is running (`RetrainInProgress`)"}},
    tags=["retraining"],
)
def request_upload(name: ModelName, dataset: Annotated[NewDataset, Body()]) -> Response[DatasetUpload]:
    env = api_env()
    upload = retraining.request_dataset_upload(
        env.deps, http.caller(router), name, dataset, bucket=env.settings.datasets_bucket
    )
    return http.created(upload.model_dump(mode="json"))


@router.get("/v1/models/<name>/retrains", summary="List retrains, newest first", tags=["retraining"])
def list_retrains(name: ModelName, limit: Limit = 50, cursor: Cursor = None) -> http.PageOut[Retrain]:
    env = api_env()
    return http.page_out(retraining.list_retrains(env.deps, http.caller(router), name, limit=limit, cursor=cursor))


@router.get(
    "/v1/models/<name>/retrains/<retrain_id>",
    summary="Show a retrain: status, step, evaluation, outcome",
    tags=["retraining"],
)
def get_retrain(name: ModelName, retrain_id: RetrainId) -> Retrain:
    env = api_env()
    return retraining.get_retrain(env.deps, http.caller(router), name, retrain_id).model_dump(mode="json")
