"""What API Gateway does around the Lambdas: one definition for the CDK app and the local gateway.

`infra/` synthesizes these definitions into the REST API; `modelport.local.gateway`
interprets the same ones, so the two cannot drift (DESIGN §7). Plain data, no aws_cdk.

Authorizers (contracts.md, "Authorizer context"). API Gateway keys its authorizer cache
on the identity sources' values alone and evaluates the cached policy against each later
request's method ARN. An inference answer routes (it carries the `endpoint`), so its key
must tell every model, version and alias apart. Path parameters "cannot be used as
identity sources" (api-gateway-lambda-authorizer-input.html), but the `context.path`
variable can: it is the request path (`/{stage}/v1/models/churn/versions/1.x/invocations`),
so the key is the API key *and* the exact model/spec. A cache hit still runs no Lambda.
The authorizer also scopes an inference answer's policy to the request's method ARN, so
even an answer reused for another path would authorize nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AuthorizerKind = Literal["control_plane", "inference"]

#: The identity-source kinds a REST API REQUEST authorizer accepts, by expression prefix.
IDENTITY_SOURCE_KINDS = {
    "method.request.header.": "header",
    "method.request.querystring.": "querystring",
    "stageVariables.": "stage_variable",
    "context.": "context",
}


class InvalidIdentitySource(ValueError):
    """An identity source API Gateway refuses (a path parameter, or not a mapping expression)."""


@dataclass(frozen=True)
class IdentitySource:
    """One identity source: `kind` (header, querystring, stage_variable, context) and `name`."""

    expression: str
    kind: str
    name: str

    @classmethod
    def parse(cls, expression: str) -> IdentitySource:
        for prefix, kind in IDENTITY_SOURCE_KINDS.items():
            if expression.startswith(prefix) and len(expression) > len(prefix):
                return cls(expression, kind, expression[len(prefix):])
        raise InvalidIdentitySource(
            f"{expression!r} is not an identity source a REQUEST authorizer accepts: use "
            "method.request.header.<name>, method.request.querystring.<name>, stageVariables.<name> "
            "or context.<variable> (path parameters cannot be identity sources)"
        )


@dataclass(frozen=True)
class AuthorizerDefinition:
    kind: AuthorizerKind
    identity_sources: tuple[str, ...]

    def sources(self) -> tuple[IdentitySource, ...]:
        return tuple(IdentitySource.parse(s) for s in self.identity_sources)


AUTHORIZERS: dict[str, AuthorizerDefinition] = {
    # one answer per key serves every control-plane route: handlers enforce roles and patterns
    "control_plane": AuthorizerDefinition("control_plane", ("method.request.header.Authorization",)),
    # one answer per key and request path: model, version spec or alias
    "inference": AuthorizerDefinition("inference", ("method.request.header.Authorization", "context.path")),
}

#: API Gateway's limit on the Resource of an authorizer policy (api-gateway-lambda-authorizer-output.html).
POLICY_RESOURCE_MAX = 512
