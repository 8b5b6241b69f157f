"""The local API Gateway (contracts.md, "Local mode"): proxy events from the route table,
the REQUEST authorizer with API Gateway's caching rule, and the direct inference path."""

from modelport.local.gateway.app import GatewayApp
from modelport.local.gateway.authorizer import AuthorizerCache
from modelport.local.gateway.events import Stage
from modelport.local.gateway.server import GatewayPortInUse, GatewayServer

__all__ = ["AuthorizerCache", "GatewayApp", "GatewayPortInUse", "GatewayServer", "Stage"]
