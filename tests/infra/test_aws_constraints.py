"""The synthesized templates against constraints AWS documents (DESIGN §7).

Identity-source kinds (test_api.py) and the Metrics Insights grammar (test_observability.py)
have their own tests; here: SageMaker's traffic-routing ranges and auto-rollback limits on
every endpoint, and the IAM actions SageMaker and API Gateway need to do their part.
"""

from __future__ import annotations

import json

from tests.infra.conftest import resources


def _statements(templates, stack: str, role_fragment: str) -> list[dict]:
    """Identity-policy statements attached to the roles whose logical id contains `role_fragment`."""
    out = []
    for policy in resources(templates[stack], "AWS::IAM::Policy").values():
        if any(role_fragment in json.dumps(r) for r in policy["Properties"]["Roles"]):
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statements: list[dict]) -> set[str]:
    found = set()
    for s in statements:
        found |= {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
    return found


def test_every_endpoint_update_is_within_sagemakers_traffic_routing_limits(templates):
    """CanarySize ≤ 50 %, LinearStepSize 10–50 %, WaitIntervalInSeconds 0–3600
    (API_TrafficRoutingConfig.html, API_CapacitySize.html); MaximumExecutionTimeoutInSeconds
    600–28,800 and TerminationWaitInSeconds 0–3600 (API_BlueGreenUpdatePolicy.html); 1–10
    auto-rollback alarms (API_AutoRollbackConfig.html)."""
    endpoints = resources(templates["serving"], "AWS::SageMaker::Endpoint").values()
    assert endpoints
    for endpoint in endpoints:
        config = endpoint["Properties"]["DeploymentConfig"]
        policy = config["BlueGreenUpdatePolicy"]
        routing = policy["TrafficRoutingConfiguration"]
        assert routing["Type"] in ("ALL_AT_ONCE", "CANARY", "LINEAR")
        assert 0 <= routing["WaitIntervalInSeconds"] <= 3600
        if routing["Type"] == "CANARY":
            assert routing["CanarySize"]["Type"] == "CAPACITY_PERCENT" and 1 <= routing["CanarySize"]["Value"] <= 50
        if routing["Type"] == "LINEAR":
            assert routing["LinearStepSize"]["Type"] == "CAPACITY_PERCENT"
            assert 10 <= routing["LinearStepSize"]["Value"] <= 50
        assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 28_800
        assert 0 <= policy["TerminationWaitInSeconds"] <= 3600
        assert 1 <= len(config["AutoRollbackConfiguration"]["Alarms"]) <= 10


def test_the_sagemaker_execution_role_has_what_createmodel_needs(templates):
    """A model's execution role pulls the image from ECR, reads the artifact from S3 (and its
    KMS key), writes container logs and metrics (sagemaker-roles.html, "CreateModel API:
    Execution Role Permissions")."""
    granted = _actions(_statements(templates, "serving", "SageMakerExecutionRole"))
    needed = {
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
        "s3:GetObject", "kms:Decrypt", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
        "logs:DescribeLogStreams", "cloudwatch:PutMetricData", "cloudwatch:DescribeAlarms",
    }  # fmt: skip
    assert needed - granted == set()


def test_api_gateway_may_call_what_it_integrates(templates, platform):
    """API Gateway invokes the Lambdas and the authorizer under a resource policy for its
    principal (apigateway-lambda-integrations, configure-api-gateway-lambda-authorization.html),
    calls InvokeEndpoint with its credentials role (integration-request-basic-setup.html)
    and, for the stage's logs, the account's CloudWatch role carries
    AmazonAPIGatewayPushToCloudWatchLogs (set-up-logging.html)."""
    template = templates["api"]
    permissions = resources(template, "AWS::Lambda::Permission").values()
    authorizer = platform.api.resolve(platform.api.get_logical_id(platform.api.authorizer_function.function.node.default_child))
    from_gateway = [p["Properties"] for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert any(p["FunctionName"] == {"Fn::GetAtt": [authorizer, "Arn"]} for p in from_gateway)
    for name, function in platform.api.functions.items():
        function_id = platform.api.resolve(platform.api.get_logical_id(function.function.node.default_child))
        assert any(p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]} for p in from_gateway), name
    assert all(p["Action"] == "lambda:InvokeFunction" and "SourceArn" in p for p in from_gateway)
    inference = _actions(_statements(templates, "api", "InferenceIntegrationRole"))
    assert inference == {"sagemaker:InvokeEndpoint"}
    [account] = resources(template, "AWS::ApiGateway::Account").values()
    role = resources(template, "AWS::IAM::Role")[account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
