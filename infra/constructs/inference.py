"""The inference hot path: API Gateway → SageMaker runtime `InvokeEndpoint`, no Lambda.

The authorizer resolves model/version to an endpoint and returns it as
`context.authorizer.endpoint`; the integration puts it into the runtime path.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

OIP_V2_ATTRIBUTES = "'modelport-protocol=oip-v2'"
#: SageMaker runtime statuses passed through as they are (424: the model raised an error).
PASSTHROUGH_STATUSES = ("400", "404", "413", "415", "424", "429", "500", "503")
_RESPONSE_HEADERS = ("Content-Type", "X-Amzn-Invoked-Production-Variant")

#: API Gateway's own errors, in the platform's `{"error": {"code", "message"}}` shape
#: (codes are the core error classes' names, see functions/core/errors.py).
GATEWAY_ERRORS = {
    apigw.ResponseType.UNAUTHORIZED: ("Unauthenticated", "401"),
    apigw.ResponseType.ACCESS_DENIED: ("Forbidden", "403"),
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("NotFound", "404"),
    apigw.ResponseType.RESOURCE_NOT_FOUND: ("NotFound", "404"),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: ("InvalidInput", "400"),
    apigw.ResponseType.BAD_REQUEST_BODY: ("InvalidInput", "400"),
    apigw.ResponseType.REQUEST_TOO_LARGE: ("PayloadTooLarge", "413"),
    apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: ("UnsupportedMediaType", "415"),
    apigw.ResponseType.THROTTLED: ("Throttled", "429"),
    apigw.ResponseType.QUOTA_EXCEEDED: ("Throttled", "429"),
    apigw.ResponseType.INTEGRATION_TIMEOUT: ("Timeout", "504"),
    apigw.ResponseType.DEFAULT_4_XX: ("InvalidInput", None),
    apigw.ResponseType.DEFAULT_5_XX: ("InternalError", None),
}


def inference_integration(stack: Stack, *, role: iam.IRole, oip_v2: bool) -> apigw.AwsIntegration:
    """`POST arn:aws:apigateway:{region}:runtime.sagemaker:path/endpoints/{endpoint}/invocations`."""
    request_parameters = {
        "integration.request.path.endpoint": "context.authorizer.endpoint",
        "integration.request.header.Content-Type": "method.request.header.Content-Type",
    }
    if oip_v2:
        request_parameters["integration.request.header.X-Amzn-SageMaker-Custom-Attributes"] = OIP_V2_ATTRIBUTES
    responses = [
        apigw.IntegrationResponse(status_code="200", response_parameters=_integration_headers()),
        *(
            apigw.IntegrationResponse(
                status_code=status, selection_pattern=status, response_parameters=_integration_headers()
            )
            for status in PASSTHROUGH_STATUSES
        ),
    ]
    return apigw.AwsIntegration(
        service="runtime.sagemaker",
        path="endpoints/{endpoint}/invocations",
        integration_http_method="POST",
        region=stack.region,
        options=apigw.IntegrationOptions(
            credentials_role=role,
            request_parameters=request_parameters,
            # bodies go to the model untouched, whatever their content type
            passthrough_behavior=apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
            integration_responses=responses,
            timeout=None,
        ),
    )


def inference_method_responses() -> list[apigw.MethodResponse]:
    return [
        apigw.MethodResponse(status_code=status, response_parameters=_method_headers())
        for status in ("200", *PASSTHROUGH_STATUSES)
    ]


def _integration_headers() -> dict[str, str]:
    return {f"method.response.header.{h}": f"integration.response.header.{h}" for h in _RESPONSE_HEADERS}


def _method_headers() -> dict[str, bool]:
    return {f"method.response.header.{h}": False for h in _RESPONSE_HEADERS}


def add_gateway_responses(api: apigw.RestApi) -> None:
    """Every error API Gateway answers itself, in the platform's error shape."""
    for response_type, (code, status) in GATEWAY_ERRORS.items():
        api.add_gateway_response(
            f"{code}{response_type.response_type}".replace("_", ""),
            type=response_type,
            status_code=status,
            templates={
                "application/json": (
                    f'{{"error": {{"code": "{code}", "message": $context.error.messageString}}}}'
                )
            },
        )
