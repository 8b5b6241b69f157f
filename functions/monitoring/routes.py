"""Router for drift monitoring and ground truth: status, runs on demand, reports, feedback."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from functions.adapters import http
from functions.adapters.feedback import DynamoFeedback
from functions.adapters.idempotency import run_once
from functions.adapters.monitoring import CaptureBucket
from functions.adapters.s3 import split_uri
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps, client
from functions.core import feedback, monitoring, monitoring_views
from functions.core.feedback import Feedback, FeedbackResult
from functions.core.monitoring import RUN_ID_RE, MonitoringRun, NewRun
from functions.core.monitoring_views import ModelMonitoring
from functions.core.ports import Deps
from functions.monitoring.settings import MonitoringApiSettings
from functions.registry.models import ModelName
from functions.workflows.wiring import once

router = Router()
RunId = Annotated[str, Path(pattern=RUN_ID_RE, description="e.g. 20250101-120000-a1b2c3")]


@dataclass(frozen=True)
class ApiEnv:
    settings: MonitoringApiSettings
    deps: Deps
    monitor: StateMachine
    captures: CaptureBucket
    labels: DynamoFeedback


@once
def api_env() -> ApiEnv:
    settings = MonitoringApiSettings()  # type: ignore[call-arg] - from the environment
    return ApiEnv(settings=settings, deps=build_deps(settings, client),
                  monitor=StateMachine(client("stepfunctions"), settings.monitor_state_machine_arn),
                  captures=CaptureBucket(client("s3"), settings.captures_bucket),
                  labels=DynamoFeedback(client("dynamodb"), settings.table_name))


class Report(BaseModel):
    """A run's report (`report.json`, docs/contracts.md "Drift job") and a link to its page."""

    run: MonitoringRun
    report: dict[str, Any] | None
    #: presigned GET of the self-contained HTML page (minutes), None before the run finished.
    html_url: str | None


@router.get(
    "/v1/models/<name>/monitoring",
    summary="Drift monitoring: the latest run per alias, history, drift and live-metric series",
    tags=["monitoring"],
)
def get_status(name: ModelName) -> ModelMonitoring:
    env = api_env()
    return monitoring_views.status(env.deps, http.caller(router), name).model_dump(mode="json")


@router.post(
    "/v1/models/<name>/monitoring/runs",
    summary="Run the drift job now for one alias (starts the monitor workflow)",
    description=(
        "Compares the alias's captured traffic over the window (default: the policy's `window_hours`) with "
        "the baseline of the version it serves. Poll `GET .../monitoring/runs/{id}` for `status` and `step`. "
        "Idempotent with an `Idempotency-Key` header. 404 when the alias does not exist or is not deployed; "
        "409 `BaselineMissing` when its version has no baseline, `MonitoringDisabled`, or "
        "`MonitoringInProgress` naming the run that is going."
    ),
    responses={202: {"description": "started"}, 404: {"description": "no such alias, or nothing deployed"},
               409: {"description": "no baseline, monitoring disabled, or a run of the alias is going"}},
    tags=["monitoring"],
)
def start_run(name: ModelName, run: Annotated[NewRun, Body()]) -> Response[MonitoringRun]:
    ctx = http.caller(router)
    env = api_env()

    def work() -> dict:
        started = monitoring.request_run(env.deps, ctx, env.monitor, name, run, stage=env.settings.stage,
                                         poll_seconds=env.settings.workflow_poll_seconds)
        return started.model_dump(mode="json")

    body = run_once(
        function="monitoring", route=f"POST /v1/models/{name}/monitoring/runs", ctx=ctx,
        headers=router.current_event.headers, lambda_context=router.lambda_context,
        body=run.model_dump(mode="json"), work=work,
    )  # fmt: skip
    http.metrics.add_metric(name="DriftRunsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


@router.get("/v1/models/<name>/monitoring/runs/<run_id>", summary="Show a drift run", tags=["monitoring"])
def get_run(name: ModelName, run_id: RunId) -> MonitoringRun:
    env = api_env()
    return monitoring.get_run(env.deps, http.caller(router), name, run_id).model_dump(mode="json")


@router.get(
    "/v1/models/<name>/monitoring/reports/<run_id>",
    summary="A drift run's report (JSON) and a link to its HTML page",
    tags=["monitoring"],
)
def get_report(name: ModelName, run_id: RunId) -> Report:
    env = api_env()
    run = monitoring.get_run(env.deps, http.caller(router), name, run_id)
    report = url = None
    if run.report_json and run.report_html:
        report = env.captures.get_json(split_uri(run.report_json)[1])
        url = env.captures.read_url(split_uri(run.report_html)[1], env.settings.report_url_seconds)
    return Report(run=run, report=report, html_url=url).model_dump(mode="json")


@router.post(
    "/v1/models/<name>/feedback",
    summary="Labels (ground truth) for captured inference ids",
    description=(
        "At most 100 labels per request, each for the `X-Modelport-Inference-Id` of an answer. Idempotent: a "
        "label posted again is `unchanged`. All or nothing: 400 `UnknownInferenceId` (with `fields`) when an id "
        "is not a captured request of the model, 409 `LabelConflict` when one already has another label, 409 "
        "`GroundTruthDisabled` when the model's policy does not collect ground truth (`monitoring.ground_truth`)."
    ),
    responses={400: {"description": "unknown inference ids"}, 409: {"description": "a different label exists"}},
    tags=["monitoring"],
)
def post_feedback(name: ModelName, body: Annotated[Feedback, Body()]) -> FeedbackResult:
    env = api_env()
    result = feedback.submit(env.deps, env.labels, http.caller(router), name, body)
    http.metrics.add_metric(name="LabelsAccepted", unit=MetricUnit.Count, value=result.accepted)
    return result.model_dump(mode="json")
