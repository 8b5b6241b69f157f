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


# --- the inference integration (API Gateway → SageMaker runtime InvokeEndpoint) ------------

#: method request headers passed to InvokeEndpoint as they are (`Content-Type` picks the
#: codec, `Accept` the response format, the target-variant header one production variant).
INFERENCE_HEADERS = ("Content-Type", "Accept", "X-Amzn-SageMaker-Target-Variant")
#: InvokeEndpoint's `InferenceId` is the request's id (`$context.requestId`, the gateway's
#: `x-amzn-RequestId`): SageMaker adds it to the captured request (model-monitor-data-capture),
#: and the caller gets it back to post a label for it (`POST .../feedback`).
INFERENCE_ID_SOURCE = "context.requestId"
INFERENCE_ID_REQUEST_HEADER = "X-Amzn-SageMaker-Inference-Id"
INFERENCE_ID_RESPONSE_HEADER = "X-Modelport-Inference-Id"
OIP_V2_ATTRIBUTES = "modelport-protocol=oip-v2"

# --- OIP v2 requests (the /v2 routes) ---------------------------------------------------------
#
# Standard OIP clients (tritonclient) send no Content-Type: an OIP v2 body is JSON unless the
# binary tensor extension's header says otherwise. InvokeEndpoint passes the container only
# its own parameters (ContentType, Accept, CustomAttributes, ...), never that header, and
# API Gateway passes a body whose Content-Type is not a binary media type as UTF-8 text
# (api-gateway-payload-encodings-workflow.html), which corrupts binary tensors. So on /v2:
# * no Content-Type (API Gateway then picks the application/json template,
#   integration-passthrough-behaviors.html) or application/json: the body goes on as
#   application/json; with the binary header it cannot be intact, and the custom attribute
#   `modelport-binary=untyped` makes the container refuse it (415) naming the fix;
# * application/octet-stream (a binary media type): passed through untouched, and the
#   container finds the end of the leading JSON header itself.
# OIP_V2_REQUEST_TEMPLATE is that rule as the integration's mapping template on AWS;
# `oip_v2_request` is its twin in Python, for the local gateway.

BINARY_EXTENSION_HEADER = "Inference-Header-Content-Length"
OIP_V2_JSON = "application/json"
OIP_V2_UNTYPED_BINARY = f"{OIP_V2_ATTRIBUTES};modelport-binary=untyped"
OIP_V2_REQUEST_TEMPLATE = (
    f"#set($binary = $input.params().header.get('{BINARY_EXTENSION_HEADER}'))\n"
    f"#if(\"$!binary\" != \"\")"
    f"#set($context.requestOverride.header.X-Amzn-SageMaker-Custom-Attributes = \"{OIP_V2_UNTYPED_BINARY}\")"
    "#end\n"
    f"#set($context.requestOverride.header.Content-Type = \"{OIP_V2_JSON}\")\n"
    "$input.body"
)


def oip_v2_request(content_type: str | None, binary_header: str | None) -> tuple[str, str]:
    """(ContentType, CustomAttributes) of InvokeEndpoint for an OIP v2 request: what
    OIP_V2_REQUEST_TEMPLATE makes of it on AWS (the template applies to a request without a
    Content-Type or with `application/json`; any other type passes through as it is)."""
    if content_type is None or content_type == OIP_V2_JSON:
        return OIP_V2_JSON, (OIP_V2_UNTYPED_BINARY if binary_header else OIP_V2_ATTRIBUTES)
    return content_type, OIP_V2_ATTRIBUTES

#: SageMaker's own errors (not the model's), by status: the platform's error shape with a
#: fixed message, so nothing of SageMaker's (account id, log group, endpoint ARN) reaches a
#: caller. Rendered as a static template on AWS and by the local gateway alike.
SAGEMAKER_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidInput", "the model endpoint refused the request"),
    404: ("NotDeployed", "the model endpoint does not exist"),
    413: ("PayloadTooLarge", "the request body is too large for the model endpoint"),
    415: ("UnsupportedMediaType", "the model endpoint does not accept this content type"),
    429: ("Throttled", "the model endpoint is throttling requests; retry with backoff"),
    500: ("InternalError", "the model endpoint failed"),
    503: ("ServiceUnavailable", "the model endpoint is not available; retry later"),
}
#: SageMaker's ModelError: the container answered non-2xx; the caller gets the container's
#: status and body (OriginalStatusCode, OriginalMessage), never the LogStreamArn.
MODEL_ERROR_STATUS = 424
#: any other status SageMaker answers (no selection pattern matched): never a 200.
UNMATCHED = (502, "InternalError", "the model endpoint answered an unexpected status")

#: the 424 integration response's VTL (api-gateway-mapping-template-reference.html,
#: apigateway-override-request-response-parameters.html); `model_error` is its twin in Python.
MODEL_ERROR_TEMPLATE = (
    "#set($error = $input.path('$'))\n"
    "#set($status = $error.OriginalStatusCode)\n"
    "#if($status >= 400 && $status <= 599)#set($context.responseOverride.status = $status)"
    "#{else}#set($context.responseOverride.status = 502)#end\n"
    "$error.OriginalMessage"
)


def error_body(code: str, message: str) -> str:
    return f'{{"error": {{"code": "{code}", "message": "{message}"}}}}'


def model_error(body: dict) -> tuple[int, bytes]:
    """What MODEL_ERROR_TEMPLATE renders for SageMaker's ModelError body."""
    status = body.get("OriginalStatusCode")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 502
    return status, str(body.get("OriginalMessage", "")).encode("utf-8")


# --- gateway responses -----------------------------------------------------------------------

#: ACCESS_DENIED renders the authorizer's Deny context (contracts.md, "Authorizer refusals").
#: Gateway responses are simple substitution, not VTL (api-gateway-gatewayResponse-definition.html),
#: so the authorizer puts `message` JSON-escaped into its context.
ACCESS_DENIED_TEMPLATE = '{"error": {"code": "$context.authorizer.code", "message": "$context.authorizer.message"}}'


def render_gateway_response(template: str, variables: dict[str, str]) -> str:
    """Simple substitution of `$context.<name>` variables, as API Gateway does (unknown ones empty)."""
    import re

    return re.sub(r"\$context\.([A-Za-z0-9_.]+)", lambda m: variables.get(m.group(1), ""), template)


def json_escaped(text: str) -> str:
    """`text` safe inside a JSON string literal that a template substitutes it into."""
    import json

    return json.dumps(text, ensure_ascii=False)[1:-1]
