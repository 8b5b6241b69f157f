"""Lambda `authorizer`: a REQUEST authorizer for every non-public route.

* No, malformed, unknown, wrong, expired or revoked key → `Unauthorized` (API Gateway 401,
  gateway response UNAUTHORIZED).
* Control-plane routes → Allow with `principal`, `owner`, `roles`, `patterns`; the handlers
  enforce roles and patterns themselves.
* Inference routes → the model (alias `production`) or model + spec is resolved to the
  endpoint serving it now, returned as `endpoint`, `model`, `version`. A caller without a
  pattern for the model, or an unknown/undeployed target, gets a Deny whose context
  carries `code` and `message`; the ACCESS_DENIED gateway response renders them as
  `{"error": {"code", "message"}}` (contracts.md, "Authorizer refusals").

Control-plane policies cover the whole stage (`<api>/<stage>/*/*`), so one cached answer
serves every control-plane route for one key. Inference answers are cached per key and
request path (`functions.apigw.AUTHORIZERS`) and their policy is the request's method ARN
alone: a cached Allow for one model, version or alias never authorizes or routes another,
and a cached Deny (a typo, an unknown model) blocks nothing but that path.

Everything the answer depends on must be an identity source, or a cached answer would be
wrong for another request with the same key: the key, and (through the path) the route,
`name` and `spec`. Nothing else of the request is read.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions import routes
from functions.adapters import wiring
from functions.apigw import POLICY_RESOURCE_MAX, json_escaped
from functions.core import apikeys, serving
from functions.core.errors import DomainError, Unauthenticated
from functions.core.models import Principal
from functions.core.ports import Context

logger = Logger(service="authorizer")


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event)


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    """The authorizer's answer for one REQUEST event; raises `Unauthorized` for a 401."""
    deps = wiring.deps()
    try:
        principal = apikeys.authenticate(deps, _header(event.get("headers"), "authorization"))
    except Unauthenticated as refused:
        logger.info("unauthenticated", extra={"reason": refused.message})
        raise Unauthorized from None
    context = identity_context(principal)
    route = routes.find(event.get("httpMethod", ""), event.get("resource", ""))
    if route is None or not route.inference:
        return policy(principal.id, "Allow", stage_resource(event["methodArn"]), context)
    resource = method_resource(event["methodArn"])
    params = event.get("pathParameters") or {}
    request_id = (event.get("requestContext") or {}).get("requestId", "authorizer")
    try:
        target = serving.route_inference(
            deps, Context(actor=principal, request_id=request_id), params.get("name", ""), params.get("spec")
        )
    except DomainError as refused:
        logger.info("inference refused", extra={"code": refused.code, "principal": principal.id})
        # ACCESS_DENIED substitutes `message` into a JSON template as it is (no VTL): escape it
        message = json_escaped(refused.message)
        return policy(principal.id, "Deny", resource, {**context, "code": refused.code, "message": message})
    context.update(endpoint=target.endpoint, model=target.model, version=target.version)
    return policy(principal.id, "Allow", resource, context)


def identity_context(principal: Principal) -> dict[str, str]:
    return {
        "principal": principal.id,
        "owner": principal.owner or "",
        "roles": ",".join(sorted(r.value for r in principal.roles)),
        "patterns": ",".join(principal.patterns),
    }


def method_resource(method_arn: str) -> str:
    """The request's own method ARN; a longer one than API Gateway's policy limit (only a
    path no model has can be that long) falls back to the stage, still cached for that
    path's key alone."""
    return method_arn if len(method_arn) <= POLICY_RESOURCE_MAX else stage_resource(method_arn)


def stage_resource(method_arn: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api>/<stage>/*/*` from a method ARN."""
    prefix, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{prefix}/{stage}/*/*"


def policy(principal_id: str, effect: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None
