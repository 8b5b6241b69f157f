"""One synth per test session: the whole platform (cdk-nag included), templates by stack."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.platform import Platform, build_platform
from infra.settings import load_stage_settings
from infra.stacks.workflows import ASL_DIR

ROOT = Path(__file__).resolve().parents[2]
#: the workflow definitions the platform is built from (the real ones, never placeholders)
ASL = ASL_DIR

#: digests of pushed images (a pinned endpoint names its image by digest)
GPU_DIGEST, CPU_DIGEST = "sha256:" + "a" * 64, "sha256:" + "b" * 64
PINNED = [
    {
        "model": "churn",
        "alias": "production",
        "artifact_key": "models/churn/1.0.0/model.tar.gz",
        "endpoint": {
            "instance_type": "ml.g5.xlarge",
            "initial_instance_count": 2,
            "min_instances": 2,
            "max_instances": 2,
            "strategy": {"type": "canary", "percent": 10, "wait_seconds": 120},
            "latency_alarm_ms": 800,
        },
        "image": {"digest": GPU_DIGEST},
    },
    {
        "model": "iris",
        "artifact_key": "models/iris/1.0.0/model.tar.gz",
        "image": {"digest": CPU_DIGEST},
    },
]


def cdk_context(**overrides) -> dict:
    """cdk.json's context (feature flags and stages) plus overrides, as `cdk synth -c` gives."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, **overrides}


@pytest.fixture(scope="session")
def platform() -> Platform:
    app = cdk.App(context=cdk_context(pinned_endpoints=json.dumps(PINNED)))
    settings = load_stage_settings(app.node.try_get_context)
    built = build_platform(app, settings, bundle=False)
    app.synth()  # raises if cdk-nag reports an unacknowledged finding
    return built


@pytest.fixture(scope="session")
def templates(platform: Platform) -> dict[str, Template]:
    return {
        "data": Template.from_stack(platform.data),
        "serving": Template.from_stack(platform.serving),
        "api": Template.from_stack(platform.api),
        "workflows": Template.from_stack(platform.api.workflows),
        "observability": Template.from_stack(platform.observability),
    }


def resources(template: Template, type_: str) -> dict[str, dict]:
    return template.find_resources(type_)


def policy_statements(templates: dict[str, Template]) -> list[tuple[str, str, dict]]:
    """(stack, policy logical id, statement) for every identity policy of the platform."""
    out = []
    for stack, template in templates.items():
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                out.append((stack, logical_id, statement))
    return out
