"""The deploy workflow's plan: names and SageMaker request fragments, computed once by Validate.

Pure functions (no AWS calls). The native SageMaker Tasks of `deploy.asl.json` take their
parameters from the plan (`$.plan`), so what is created is decided and tested here.
"""

from __future__ import annotations

import hashlib
from typing import Any

from functions.core.endpoints import PROVISIONING_ALLOWANCE_S, EndpointSettings
from functions.workflows.polling import PollSchedule

VARIANT = "AllTraffic"
_NAME_MAX = 63


def resource_name(endpoint: str, deployment_id: str) -> str:
    """SageMaker model / endpoint-config name of one deployment: `<endpoint>-<id>`, ≤ 63
    characters, still starting with the endpoint name's `mp-<stage>-` prefix (IAM scopes by it)."""
    suffix = deployment_id if len(endpoint) + 1 + len(deployment_id) <= _NAME_MAX else (
        hashlib.sha256(deployment_id.encode()).hexdigest()[:6] + deployment_id[-6:]
    )
    head = endpoint[: _NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}"


def bake_seconds(settings: EndpointSettings) -> int:
    """Upper bound of the time SageMaker spends shifting traffic and baking."""
    return settings.strategy.bake_seconds


def poll_schedule(settings: EndpointSettings, poll_seconds: int) -> PollSchedule:
    """How CheckEndpoint polls: the new fleet's start and the strategy's baking at most."""
    return PollSchedule(base=poll_seconds, budget_seconds=PROVISIONING_ALLOWANCE_S + bake_seconds(settings))


def max_polls(settings: EndpointSettings, poll_seconds: int) -> int:
    """Polls before an endpoint that has not settled counts as stuck."""
    return poll_schedule(settings, poll_seconds).max_polls


def build_plan(
    state: dict[str, Any],
    *,
    image: str,
    allow_pickle: bool,
    model_data_url: str,
    current: dict[str, Any] | None,
    current_config: dict[str, Any] | None,
    role_arn: str,
) -> dict[str, Any]:
    """The plan (`$.plan`) for the workflow input `state`.

    `allow_pickle` is the model's policy, passed to the container, which refuses a pickled
    model unless both it and the artifact's manifest allow pickle.
    `current` is DescribeEndpoint of the alias's endpoint (None when it does not exist):
    an existing endpoint is updated blue/green, a missing one created. `role_arn` is the
    execution role the model runs under (`functions.workflows.roles.execution_role`).
    """
    settings = EndpointSettings.model_validate(state["settings"])
    endpoint = state["endpoint"]
    name = resource_name(endpoint, state["deployment_id"])
    poll_seconds = int(state.get("poll_seconds", 30))
    previous_variant = (current_config or {}).get("ProductionVariants") or [{}]
    return {
        "endpoint": endpoint,
        "update": current is not None,
        "previous_config": current["EndpointConfigName"] if current else None,
        "previous_instance_type": previous_variant[0].get("InstanceType"),
        "model_name": name,
        "config_name": name,
        "role_arn": role_arn,
        "variant": VARIANT,
        "container": {
            "Image": image,
            "ModelDataUrl": model_data_url,
            "Environment": {
                **settings.container_environment(),
                "MODELPORT_MODEL": state["model"],
                "MODELPORT_VERSION": state["version"],
                # The model's policy, not the artifact, decides whether pickle may load.
                "MODELPORT_ALLOW_PICKLE": "true" if allow_pickle else "false",
            },
        },
        "variants": [
            {
                "VariantName": VARIANT,
                "ModelName": name,
                "InstanceType": settings.instance_type,
                "InitialInstanceCount": settings.initial_instance_count,
                "InitialVariantWeight": 1.0,
            }
        ],
        "capture": {"enabled": settings.data_capture_percent > 0, "percent": settings.data_capture_percent},
        "poll_seconds": poll_seconds,
        "max_polls": int(state.get("max_polls") or max_polls(settings, poll_seconds)),
    }
