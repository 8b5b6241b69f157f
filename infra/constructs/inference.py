"""The inference hot path: API Gateway → SageMaker runtime `InvokeEndpoint`, no Lambda.

The authorizer resolves model/version to an endpoint and returns it as
`context.authorizer.endpoint`; the integration puts it into the runtime path.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

from functions.apigw import (
    ACCESS_DENIED_TEMPLATE,
    INFERENCE_HEADERS,
    INFERENCE_ID_REQUEST_HEADER,
    INFERENCE_ID_RESPONSE_HEADER,
    INFERENCE_ID_SOURCE,
    MODEL_ERROR_STATUS,
    MODEL_ERROR_TEMPLATE,
    OIP_V2_JSON,
    OIP_V2_REQUEST_TEMPLATE,
    SAGEMAKER_ERRORS,
    UNMATCHED,
    error_body,
)
from functions.apigw import OIP_V2_ATTRIBUTES as _OIP

OIP_V2_ATTRIBUTES = f"'{_OIP}'"
#: statuses the method can answer: 200, SageMaker's own errors, the model's (424 becomes the
#: container's status by override) and the unmatched default.
PASSTHROUGH_STATUSES = tuple(str(s) for s in (*SAGEMAKER_ERRORS, MODEL_ERROR_STATUS, UNMATCHED[0]))
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
    request_parameters = {"integration.request.path.endpoint": "context.authorizer.endpoint"}
    request_parameters.update(
        {f"integration.request.header.{h}": f"method.request.header.{h}" for h in INFERENCE_HEADERS}
    )
    request_parameters[f"integration.request.header.{INFERENCE_ID_REQUEST_HEADER}"] = INFERENCE_ID_SOURCE
    if oip_v2:
        request_parameters["integration.request.header.X-Amzn-SageMaker-Custom-Attributes"] = OIP_V2_ATTRIBUTES
    json_only = {"method.response.header.Content-Type": "'application/json'"}
    responses = [
        # for AWS integrations the selection pattern is matched against the status code
        apigw.IntegrationResponse(status_code="200", selection_pattern=r"2\d{2}", response_parameters=_integration_headers()),
        *(
            apigw.IntegrationResponse(
                status_code=str(status), selection_pattern=str(status), response_parameters=json_only,
                response_templates={"application/json": error_body(code, message)},
            )
            for status, (code, message) in SAGEMAKER_ERRORS.items()
        ),
        apigw.IntegrationResponse(
            status_code=str(MODEL_ERROR_STATUS), selection_pattern=str(MODEL_ERROR_STATUS),
            response_parameters=json_only, response_templates={"application/json": MODEL_ERROR_TEMPLATE},
        ),
        # the default (no pattern): whatever else SageMaker answers is never a 200
        apigw.IntegrationResponse(
            status_code=str(UNMATCHED[0]), response_parameters=json_only,
            response_templates={"application/json": error_body(UNMATCHED[1], UNMATCHED[2])},
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
            # bodies go to the model untouched, whatever their content type; on /v2 a JSON
            # body (or one without a Content-Type) goes through the OIP template first
            # (functions.apigw: it is JSON unless the binary-extension header says otherwise)
            request_templates={OIP_V2_JSON: OIP_V2_REQUEST_TEMPLATE} if oip_v2 else None,
            passthrough_behavior=(apigw.PassthroughBehavior.WHEN_NO_MATCH if oip_v2
                                  else apigw.PassthroughBehavior.WHEN_NO_TEMPLATES),
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
    headers = {f"method.response.header.{h}": f"integration.response.header.{h}" for h in _RESPONSE_HEADERS}
    # a method response header may be mapped from a context variable (request-response-data-mappings)
    headers[f"method.response.header.{INFERENCE_ID_RESPONSE_HEADER}"] = INFERENCE_ID_SOURCE
    return headers


def _method_headers() -> dict[str, bool]:
    return {f"method.response.header.{h}": False for h in (*_RESPONSE_HEADERS, INFERENCE_ID_RESPONSE_HEADER)}


def add_gateway_responses(api: apigw.RestApi, *, cors_origin: str | None = None) -> None:
    """Every error API Gateway answers itself, in the platform's error shape; with the
    console's origin, so that the console can read them (a bad key's 401 on sign-in)."""
    headers = {"Access-Control-Allow-Origin": f"'{cors_origin}'", "Vary": "'Origin'"} if cors_origin else None
    for response_type, (code, status) in GATEWAY_ERRORS.items():
        template = f'{{"error": {{"code": "{code}", "message": $context.error.messageString}}}}'
        if response_type.response_type == apigw.ResponseType.ACCESS_DENIED.response_type:
            template = ACCESS_DENIED_TEMPLATE  # the authorizer's Deny context says why
        api.add_gateway_response(
            f"{code}{response_type.response_type}".replace("_", ""),
            type=response_type,
            status_code=status,
            response_headers=headers,
            templates={"application/json": template},
        )
