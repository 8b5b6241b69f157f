"""Build one stage of the platform: the stacks, in dependency order, and the checks."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from infra.settings import StageSettings
from infra.stacks.data import DataStack
from infra.stacks.serving import ServingStack


@dataclass(frozen=True)
class Platform:
    """The stacks of one stage, for callers (tests, outputs) that need to reach into them."""

    data: DataStack
    serving: ServingStack


def build_platform(app: cdk.App, settings: StageSettings) -> Platform:
    """Add the stage's stacks to `app`. Settings are the only thing that varies by stage."""
    env = cdk.Environment(account=settings.account, region=settings.region)
    prefix = settings.stack_prefix
    data = DataStack(app, f"{prefix}-Data", settings=settings, env=env)
    serving = ServingStack(app, f"{prefix}-Serving", settings=settings, data=data, env=env)
    for stack in (data, serving):
        cdk.Tags.of(stack).add("modelport:stage", settings.name)
    return Platform(data=data, serving=serving)
