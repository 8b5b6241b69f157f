"""Composition root of the deployment and retraining Lambdas: settings → boto3 clients → adapters.

Built on first use and kept for the life of the execution environment (as
`functions.adapters.wiring` does for the control plane); `reset()` forgets everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from functions.adapters.wiring import build_deps, client

if TYPE_CHECKING:
    from functions.adapters.apigateway import AuthorizerCache
    from functions.adapters.autoscaling import EndpointAutoscaling
    from functions.adapters.cloudwatch import EndpointAlarms
    from functions.adapters.s3 import S3Objects
    from functions.adapters.sagemaker import SageMakerEndpoints, SageMakerTraining
    from functions.adapters.stepfunctions import StateMachine
    from functions.core.ports import Deps
    from functions.workflows.settings import (
        DeploymentsSettings,
        DeployStepsSettings,
        RetrainingSettings,
        RetrainStepsSettings,
        TriggerSettings,
    )


@dataclass(frozen=True)
class DeployEnv:
    settings: DeployStepsSettings
    deps: Deps
    endpoints: SageMakerEndpoints
    alarms: EndpointAlarms
    scaling: EndpointAutoscaling
    cache: AuthorizerCache | None


@dataclass(frozen=True)
class RetrainEnv:
    settings: RetrainStepsSettings
    deps: Deps
    training: SageMakerTraining
    objects: S3Objects
    deploy: StateMachine | None


@dataclass(frozen=True)
class TriggerEnv:
    settings: TriggerSettings
    deps: Deps
    objects: S3Objects
    retrain: StateMachine


@dataclass(frozen=True)
class ApiEnv:
    settings: Any
    deps: Deps
    deploy: StateMachine | None = None


@lru_cache(maxsize=1)
def deploy_env() -> DeployEnv:
    from functions.adapters.apigateway import AuthorizerCache
    from functions.adapters.autoscaling import EndpointAutoscaling
    from functions.adapters.cloudwatch import EndpointAlarms
    from functions.adapters.sagemaker import SageMakerEndpoints
    from functions.workflows.settings import DeployStepsSettings

    settings = DeployStepsSettings()  # type: ignore[call-arg] - from the environment
    cache = None
    if settings.rest_api_id and settings.api_stage_name:
        cache = AuthorizerCache(client("apigateway"), settings.rest_api_id, settings.api_stage_name)
    return DeployEnv(
        settings=settings,
        deps=build_deps(settings, client),
        endpoints=SageMakerEndpoints(client("sagemaker")),
        alarms=EndpointAlarms(client("cloudwatch")),
        scaling=EndpointAutoscaling(client("application-autoscaling")),
        cache=cache,
    )


@lru_cache(maxsize=1)
def retrain_env() -> RetrainEnv:
    from functions.adapters.s3 import S3Objects
    from functions.adapters.sagemaker import SageMakerTraining
    from functions.adapters.stepfunctions import StateMachine
    from functions.workflows.settings import RetrainStepsSettings

    settings = RetrainStepsSettings()  # type: ignore[call-arg]
    deploy = None
    if settings.deploy_state_machine_arn:
        deploy = StateMachine(client("stepfunctions"), settings.deploy_state_machine_arn)
    return RetrainEnv(
        settings=settings,
        deps=build_deps(settings, client),
        training=SageMakerTraining(client("sagemaker")),
        objects=S3Objects(client("s3")),
        deploy=deploy,
    )


@lru_cache(maxsize=1)
def trigger_env() -> TriggerEnv:
    from functions.adapters.s3 import S3Objects
    from functions.adapters.stepfunctions import StateMachine
    from functions.workflows.settings import TriggerSettings

    settings = TriggerSettings()  # type: ignore[call-arg]
    return TriggerEnv(
        settings=settings,
        deps=build_deps(settings, client),
        objects=S3Objects(client("s3")),
        retrain=StateMachine(client("stepfunctions"), settings.retrain_state_machine_arn),
    )


@lru_cache(maxsize=1)
def deployments_api() -> ApiEnv:
    from functions.adapters.stepfunctions import StateMachine
    from functions.workflows.settings import DeploymentsSettings

    settings: DeploymentsSettings = DeploymentsSettings()  # type: ignore[call-arg]
    return ApiEnv(
        settings=settings,
        deps=build_deps(settings, client),
        deploy=StateMachine(client("stepfunctions"), settings.deploy_state_machine_arn),
    )


@lru_cache(maxsize=1)
def retraining_api() -> ApiEnv:
    from functions.workflows.settings import RetrainingSettings

    settings: RetrainingSettings = RetrainingSettings()  # type: ignore[call-arg]
    return ApiEnv(settings=settings, deps=build_deps(settings, client))


def reset() -> None:
    """Forget cached settings and adapters (tests that change the environment)."""
    for cached in (deploy_env, retrain_env, trigger_env, deployments_api, retraining_api):
        cached.cache_clear()

