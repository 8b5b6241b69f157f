"""Router for `/v1/models/{name}/deployments`: start, list and show deployments."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from functions.adapters import http
from functions.adapters.idempotency import run_once
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps, client
from functions.core import deployments
from functions.core.deployments import DEPLOYMENT_ID_RE, Deployment, NewDeployment
from functions.core.ports import Deps
from functions.registry.models import Cursor, Limit, ModelName
from functions.workflows.settings import DeploymentsSettings
from functions.workflows.wiring import once

router = Router()


@dataclass(frozen=True)
class ApiEnv:
    settings: DeploymentsSettings
    deps: Deps
    deploy: StateMachine


@once
def api_env() -> ApiEnv:
    settings = DeploymentsSettings()  # type: ignore[call-arg] - from the environment
    return ApiEnv(settings=settings, deps=build_deps(settings, client),
                  deploy=StateMachine(client("stepfunctions"), settings.deploy_state_machine_arn))

DeploymentId = Annotated[str, Path(pattern=DEPLOYMENT_ID_RE, description="e.g. 20250101-120000-a1b2c3")]


@router.post(
    "/v1/models/<name>/deployments",
    summary="Deploy a version behind an alias (starts the deploy workflow)",
    description=(
        "Resolves `version` now, checks the stage's instance types and the alias's approval rule, "
        "records the deployment and starts the deploy workflow (execution name = deployment id). "
        "Poll `GET .../deployments/{id}` for `status` and `step`. Idempotent with an `Idempotency-Key` header. "
        "One deployment per alias runs at a time: while one runs, another to the same alias is a 409 "
        "`DeploymentInProgress` naming it (nothing is queued)."
    ),
    responses={202: {"description": "started"}, 400: {"description": "instance type not allowed"},
               409: {"description": "approval required, or a deployment to the alias is running (`DeploymentInProgress`)"}},
    tags=["deployments"],
)
def start_deployment(name: ModelName, deployment: Annotated[NewDeployment, Body()]) -> Response[Deployment]:
    ctx = http.caller(router)
    env = api_env()

    def work() -> dict:
        started = deployments.start_deployment(
            env.deps, ctx, env.settings.rules(), env.deploy, name, deployment,
            poll_seconds=env.settings.workflow_poll_seconds,
        )  # fmt: skip
        return started.model_dump(mode="json")

    body = run_once(
        function="deployments", route=f"POST /v1/models/{name}/deployments", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context,
        body=deployment.model_dump(mode="json"), work=work,
    )  # fmt: skip
    http.metrics.add_metric(name="DeploymentsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


@router.get("/v1/models/<name>/deployments", summary="List deployments, newest first", tags=["deployments"])
def list_deployments(name: ModelName, limit: Limit = 50, cursor: Cursor = None) -> http.PageOut[Deployment]:
    env = api_env()
    page = deployments.list_deployments(env.deps, http.caller(router), name, limit=limit, cursor=cursor)
    return http.page_out(page)


@router.get(
    "/v1/models/<name>/deployments/<deployment_id>",
    summary="Show a deployment: status, current step, failure cause",
    tags=["deployments"],
)
def get_deployment(name: ModelName, deployment_id: DeploymentId) -> Deployment:
    env = api_env()
    return deployments.get_deployment(env.deps, http.caller(router), name, deployment_id).model_dump(mode="json")
