"""The API routes as the Api stack builds them, read from the control plane's route table.

`functions/routes.py` lists every route once (contracts.md); the Api stack and the local
gateway are both generated from it. This module only adapts that table to what API Gateway
needs: which authorizer configuration guards a route.
"""

from __future__ import annotations

from enum import Enum

from functions.routes import ROUTES, Route


class AuthorizerKind(str, Enum):
    """The authorizer configurations of `functions.apigw.AUTHORIZERS` (same Lambda, other identity sources)."""

    CONTROL_PLANE = "control_plane"  # Authorization
    INFERENCE = "inference"  # Authorization + context.path


def platform_routes() -> tuple[Route, ...]:
    """Every route of the API, from the control plane's route table."""
    return ROUTES


__all__ = ["AuthorizerKind", "Route", "platform_routes"]
