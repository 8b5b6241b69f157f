"""Embedded AWS of `modelport local`: moto behind a front that runs Lambda in-process and
routes SageMaker to the local SageMaker (see `docs/contracts.md`, "Local mode")."""

from modelport.local.aws.front import Front
from modelport.local.aws.lambdas import LambdaContext, LambdaRegistry
from modelport.local.aws.server import EmbeddedAWS

__all__ = ["EmbeddedAWS", "Front", "LambdaContext", "LambdaRegistry"]
