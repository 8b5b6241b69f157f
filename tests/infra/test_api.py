"""Api stack: authorizer on every non-public route, the direct SageMaker inference path,
throttling, access logs and the platform's error shape."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from functions.routes import ROUTES
from tests.infra.conftest import resources


def _methods(templates) -> dict[tuple[str, str], dict]:
    """(HTTP method, path) → method properties, the path rebuilt from the resource tree."""
    template = templates["api"]
    api_resources = resources(template, "AWS::ApiGateway::Resource")

    def path(ref) -> str:
        if "Fn::GetAtt" in ref:  # the API's root resource
            return ""
        node = api_resources[ref["Ref"]]["Properties"]
        return f"{path(node['ParentId'])}/{node['PathPart']}"

    return {
        (m["Properties"]["HttpMethod"], path(m["Properties"]["ResourceId"]) if "Ref" in m["Properties"]["ResourceId"] else "/"): m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
    }


def test_every_route_of_the_table_exists(templates):
    methods = _methods(templates)
    assert {(r.method, r.path) for r in ROUTES} <= set(methods)


def test_every_non_public_route_has_the_right_authorizer(templates):
    from functions.apigw import AUTHORIZERS

    methods, template = _methods(templates), templates["api"]
    authorizers = resources(template, "AWS::ApiGateway::Authorizer")
    for route in ROUTES:
        method = methods[(route.method, route.path)]
        if route.public:
            assert method["AuthorizationType"] == "NONE"
            continue
        assert method["AuthorizationType"] == "CUSTOM", route
        sources = authorizers[method["AuthorizerId"]["Ref"]]["Properties"]["IdentitySource"].split(",")
        # the local gateway computes its cache key from the same definition
        assert tuple(sources) == AUTHORIZERS[route.authorizer].identity_sources, route
        assert method["RequestParameters"]["method.request.header.Authorization"] is True


def test_identity_sources_are_kinds_aws_accepts(templates):
    """A REQUEST authorizer's identity sources are headers, query strings, stage variables
    and context variables; path parameters "cannot be used as identity sources"
    (api-gateway-lambda-authorizer-input.html). Inference answers carry the endpoint, so
    their cache key must tell models, versions and aliases apart: `context.path` does."""
    accepted = ("method.request.header.", "method.request.querystring.", "stageVariables.", "context.")
    for authorizer in resources(templates["api"], "AWS::ApiGateway::Authorizer").values():
        sources = authorizer["Properties"]["IdentitySource"].split(",")
        assert sources and all(s.startswith(accepted) for s in sources), sources
    methods = _methods(templates)
    authorizers = resources(templates["api"], "AWS::ApiGateway::Authorizer")
    for route in (r for r in ROUTES if r.inference):
        sources = authorizers[methods[(route.method, route.path)]["AuthorizerId"]["Ref"]]["Properties"]["IdentitySource"]
        assert "context.path" in sources.split(","), route


def test_authorizers_share_one_lambda_and_cache_for_the_configured_ttl(templates, platform):
    authorizers = resources(templates["api"], "AWS::ApiGateway::Authorizer").values()
    assert len(authorizers) == 2  # control plane, inference
    ttl = platform.api.settings.authorizer_cache_ttl_seconds
    assert {a["Properties"]["AuthorizerResultTtlInSeconds"] for a in authorizers} == {ttl}
    assert {a["Properties"]["Type"] for a in authorizers} == {"REQUEST"}
    uris = {json.dumps(a["Properties"]["AuthorizerUri"]) for a in authorizers}
    assert len(uris) == 1 and "Authorizer" in uris.pop()


def test_inference_routes_call_sagemaker_runtime_directly(templates):
    methods = _methods(templates)
    inference = [r for r in ROUTES if r.inference]
    assert len(inference) == 4
    for route in inference:
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS"  # not AWS_PROXY: no Lambda in the path
        assert integration["IntegrationHttpMethod"] == "POST"
        uri = json.dumps(integration["Uri"])
        assert ":runtime.sagemaker:path/endpoints/{endpoint}/invocations" in uri
        params = integration["RequestParameters"]
        assert params["integration.request.path.endpoint"] == "context.authorizer.endpoint"
        assert params["integration.request.header.Content-Type"] == "method.request.header.Content-Type"
        oip = params.get("integration.request.header.X-Amzn-SageMaker-Custom-Attributes")
        assert oip == ("'modelport-protocol=oip-v2'" if route.path.startswith("/v2/") else None)
        assert "Credentials" in integration


def test_control_plane_routes_proxy_to_their_lambda(templates):
    methods = _methods(templates)
    for route in ROUTES:
        if route.inference:
            continue
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert route.function.capitalize() in json.dumps(integration["Uri"]), route


def test_inference_role_may_only_invoke_the_stage_endpoints(templates, platform):
    template = templates["api"]
    role_id = platform.api.resolve(platform.api.get_logical_id(platform.api.inference_role.node.default_child))
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for group in policies for s in group]
    assert [s["Action"] for s in statements] == ["sagemaker:InvokeEndpoint"]
    assert json.dumps(statements[0]["Resource"]).endswith(':endpoint/mp-dev-*"]]}')


def test_stage_has_throttling_access_logs_and_tracing(templates, platform):
    settings = platform.api.settings
    templates["api"].has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": settings.name,
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
            "MethodSettings": [
                Match.object_like(
                    {"ThrottlingRateLimit": settings.throttle_rate_limit,
                     "ThrottlingBurstLimit": settings.throttle_burst_limit}
                )
            ],
        },
    )  # fmt: skip
    groups = resources(templates["api"], "AWS::Logs::LogGroup").values()
    assert groups and all("KmsKeyId" in g["Properties"] and "RetentionInDays" in g["Properties"] for g in groups)


def test_requests_are_validated(templates):
    template = templates["api"]
    validators = resources(template, "AWS::ApiGateway::RequestValidator")
    assert len(validators) == 1
    props = next(iter(validators.values()))["Properties"]
    assert props["ValidateRequestParameters"] is True
    validator_id = next(iter(validators))
    for method in resources(template, "AWS::ApiGateway::Method").values():
        if method["Properties"]["HttpMethod"] == "OPTIONS":
            continue  # CORS preflights are answered by API Gateway itself (tests/infra/test_console.py)
        assert method["Properties"]["RequestValidatorId"] == {"Ref": validator_id}


def test_gateway_errors_use_the_platform_error_shape(templates):
    responses = resources(templates["api"], "AWS::ApiGateway::GatewayResponse").values()
    types = {r["Properties"]["ResponseType"] for r in responses}
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= types
    for response in responses:
        template = response["Properties"]["ResponseTemplates"]["application/json"]
        body = json.loads(template.replace("$context.error.messageString", '"msg"'))
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}


def test_inference_responses_map_as_the_local_gateway_does(templates):
    """One definition (functions.apigw): Accept and the target variant reach InvokeEndpoint,
    only a 2xx becomes a 200, the model's 424 becomes its own status and body, and the
    ACCESS_DENIED response renders the authorizer's code and message."""
    from functions.apigw import ACCESS_DENIED_TEMPLATE, MODEL_ERROR_TEMPLATE

    methods = _methods(templates)
    for route in (r for r in ROUTES if r.inference):
        integration = methods[(route.method, route.path)]["Integration"]
        params = integration["RequestParameters"]
        for header in ("Content-Type", "Accept", "X-Amzn-SageMaker-Target-Variant"):
            assert params[f"integration.request.header.{header}"] == f"method.request.header.{header}"
        responses = {r.get("SelectionPattern"): r for r in integration["IntegrationResponses"]}
        assert responses[None]["StatusCode"] != "200"  # the default: an unmatched status
        assert responses["2\\d{2}"]["StatusCode"] == "200"
        assert responses["424"]["ResponseTemplates"]["application/json"] == MODEL_ERROR_TEMPLATE
        assert not any("LogStreamArn" in json.dumps(r) for r in integration["IntegrationResponses"])
    denied = [r for r in resources(templates["api"], "AWS::ApiGateway::GatewayResponse").values()
              if r["Properties"]["ResponseType"] == "ACCESS_DENIED"]
    assert denied[0]["Properties"]["ResponseTemplates"]["application/json"] == ACCESS_DENIED_TEMPLATE
    assert "$context.authorizer.code" in ACCESS_DENIED_TEMPLATE and "$context.authorizer.message" in ACCESS_DENIED_TEMPLATE


def test_oip_v2_routes_map_a_body_without_content_type_as_json(templates):
    """A request without Content-Type selects the application/json template
    (integration-passthrough-behaviors.html); on /v2 that template is the OIP rule
    (functions.apigw.OIP_V2_REQUEST_TEMPLATE) and every other type passes through
    (WHEN_NO_MATCH). The other inference routes have no template and pass everything."""
    from functions.apigw import OIP_V2_REQUEST_TEMPLATE

    methods = _methods(templates)
    routes = [r for r in ROUTES if r.inference]
    assert any(r.oip_v2 for r in routes) and any(not r.oip_v2 for r in routes)
    for route in routes:
        integration = methods[(route.method, route.path)]["Integration"]
        if route.oip_v2:
            assert integration["RequestTemplates"] == {"application/json": OIP_V2_REQUEST_TEMPLATE}
            assert integration["PassthroughBehavior"] == "WHEN_NO_MATCH"
            assert integration["RequestParameters"][
                "integration.request.header.X-Amzn-SageMaker-Custom-Attributes"] == "'modelport-protocol=oip-v2'"
        else:
            assert "RequestTemplates" not in integration
            assert integration["PassthroughBehavior"] == "WHEN_NO_TEMPLATES"


def test_this_stage_owns_the_accounts_api_gateway_cloudwatch_role_and_keeps_it(templates):
    """One CloudWatch Logs role per account and region serves every API there
    (AWS::ApiGateway::Account); the owning stage keeps it when it is destroyed, so removing
    one stage never breaks another's logging (set-up-logging.html)."""
    template = templates["api"]
    [account] = resources(template, "AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert "CloudWatchRole" in role_id
    role = resources(template, "AWS::IAM::Role")[role_id]
    assert (account["DeletionPolicy"], role["DeletionPolicy"]) == ("Retain", "Retain")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"}


def test_a_stage_sharing_the_accounts_role_creates_none():
    """`api_gateway_cloudwatch_role: shared`: another stage of the account owns the role."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.platform import build_platform
    from infra.settings import load_stage_settings
    from tests.infra.conftest import cdk_context

    app = cdk.App(context=cdk_context(stage="prod", api_gateway_cloudwatch_role="shared"))
    built = build_platform(app, load_stage_settings(app.node.try_get_context), bundle=False)
    template = Template.from_stack(built.api)
    assert resources(template, "AWS::ApiGateway::Account") == {}
    assert not [k for k in resources(template, "AWS::IAM::Role") if "CloudWatchRole" in k]
    # the stage still logs (through the account's role, set by its owner)
    [stage] = resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["MethodSettings"][0]["LoggingLevel"] == "ERROR"


def test_inference_ids_are_the_request_id_both_ways(templates):
    """InvokeEndpoint's InferenceId is `$context.requestId` (so SageMaker's capture carries
    it) and the 200 answer returns it as X-Modelport-Inference-Id, as the local gateway does."""
    methods = [m["Properties"] for m in resources(templates["api"], "AWS::ApiGateway::Method").values()
               if m["Properties"].get("Integration", {}).get("Type") == "AWS"]
    assert methods
    for method in methods:
        integration = method["Integration"]
        assert integration["RequestParameters"]["integration.request.header.X-Amzn-SageMaker-Inference-Id"] == (
            "context.requestId")
        [answer] = [r for r in integration["IntegrationResponses"] if r["StatusCode"] == "200"]
        assert answer["ResponseParameters"]["method.response.header.X-Modelport-Inference-Id"] == "context.requestId"
        [declared] = [r for r in method["MethodResponses"] if r["StatusCode"] == "200"]
        assert "method.response.header.X-Modelport-Inference-Id" in declared["ResponseParameters"]
