"""Serving stack and the ModelEndpoint construct: scaling, blue/green, rollback alarms, capture."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from functions.core.endpoints import (
    CAPTURED_AS_TEXT,
    EndpointSettings,
    TrafficStrategy,
    endpoint_name,
)
from functions.core.rollback import rollback_alarms
from infra.constructs.model_endpoint import ModelEndpoint
from infra.images import ecr_repository_arn, framework_catalog, framework_image_uri
from infra.settings import FrameworkImage, SettingsError, load_stage_settings
from tests.infra.conftest import cdk_context, resources

PINNED = endpoint_name("dev", "churn", "production")


def test_repositories_scan_on_push_with_immutable_tags(templates):
    repos = resources(templates["serving"], "AWS::ECR::Repository").values()
    assert len(repos) == 2
    for repo in repos:
        assert repo["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repo["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def test_pinned_gpu_endpoint_scales_on_invocations_per_instance(templates):
    template = templates["serving"]
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": f"endpoint/{PINNED}/variant/AllTraffic",
         "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
         "MinCapacity": 2, "MaxCapacity": 6, "ServiceNamespace": "sagemaker"},
    )  # fmt: skip
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {"TargetValue": 250,
                 "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
            ),
        },
    )  # fmt: skip


def test_pinned_endpoint_deploys_blue_green_with_rollback_alarms(templates):
    template = templates["serving"]
    endpoints = [e for e in resources(template, "AWS::SageMaker::Endpoint").values()
                 if e["Properties"]["EndpointName"] == PINNED]  # fmt: skip
    config = endpoints[0]["Properties"]["DeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "CANARY", "WaitIntervalInSeconds": 120, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    }  # fmt: skip
    names = [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()}
    assert names == [f"{PINNED}-error-rate", f"{PINNED}-model-latency"]
    metrics = {m["MetricStat"]["Metric"]["MetricName"] for n in names for m in alarms[n]["Metrics"] if "MetricStat" in m}
    assert metrics == {"Invocation5XXErrors", "Invocations", "ModelLatency"}
    latency = alarms[f"{PINNED}-model-latency"]
    assert latency["Threshold"] == 800 * 1000  # microseconds
    stat = next(m for m in latency["Metrics"] if m["Id"] == "latency")["MetricStat"]
    assert {"Name": "EndpointName", "Value": PINNED} in stat["Metric"]["Dimensions"]


def test_pinned_endpoint_captures_data_and_uses_the_gpu_image(templates):
    template = templates["serving"]
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [Match.object_like({"InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 2})],
            "DataCaptureConfig": Match.object_like(
                {"EnableCapture": True, "InitialSamplingPercentage": 100, "KmsKeyId": Match.any_value(),
                 "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                 "CaptureContentTypeHeader": CAPTURED_AS_TEXT}
            ),
            # g5 has NVMe instance storage, for which SageMaker refuses a volume key
            "KmsKeyId": Match.absent(),
        },
    )  # fmt: skip
    models = resources(template, "AWS::SageMaker::Model").values()
    images = [str(m["Properties"]["PrimaryContainer"]["Image"]) for m in models]
    assert any("GpuImages" in image for image in images)


def test_framework_image_is_resolved_offline_for_the_stage_region(templates):
    expected = framework_image_uri(framework="sklearn", version="1.2-1", region="us-east-1", instance_type="ml.m5.large")
    template = templates["serving"]
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"PrimaryContainer": Match.object_like({"Image": expected})}
    )
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [Match.object_like({"InstanceType": "ml.m5.large"})], "KmsKeyId": Match.any_value()},
    )


def test_unknown_framework_version_fails_with_a_clear_message():
    with pytest.raises(ValueError, match="no AWS sklearn 9.9 inference image"):
        framework_image_uri(framework="sklearn", version="9.9", region="us-east-1", instance_type="ml.m5.large")


def test_construct_renders_the_workflow_deployment_config():
    """The construct and the deploy workflow render DeploymentConfig through one method."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(region="eu-west-1"))
    settings = EndpointSettings(
        instance_type="ml.m5.xlarge", strategy=TrafficStrategy.parse("linear:20%:60s"), max_instances=3
    )
    endpoint = ModelEndpoint(
        stack, "E", endpoint_name="mp-x-m-a", settings=settings, image_uri="img", model_data_url="s3://b/k",
        execution_role=iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")),
        capture_s3_uri="s3://c/captures", kms_key=kms.Key(stack, "K"),
    )  # fmt: skip
    template = Template.from_stack(stack)
    rendered = template.find_resources("AWS::SageMaker::Endpoint")
    config = next(iter(rendered.values()))["Properties"]["DeploymentConfig"]
    assert config == settings.deployment_config(["mp-x-m-a-error-rate", "mp-x-m-a-model-latency"])
    assert endpoint.error_alarm.cfn_resource_type == "AWS::CloudWatch::Alarm"
    # the alarms are the deploy workflow's own definitions
    assert [r["Properties"] for r in template.find_resources("AWS::CloudWatch::Alarm").values()] == \
        rollback_alarms("mp-x-m-a", "AllTraffic", settings)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": Match.object_like({"Environment": settings.container_environment()})},
    )


def test_framework_images_reach_the_deploy_workflow_resolved_for_the_stage(templates, platform, monkeypatch):
    """cdk.json's dev stage offers sklearn 1.2-1 (CPU) and xgboost 1.7-1 (CPU and GPU)."""
    def uri(framework, version, instance_type):
        return framework_image_uri(framework=framework, version=version, region="us-east-1", instance_type=instance_type)

    expected = {
        "sklearn:1.2-1:cpu": uri("sklearn", "1.2-1", "ml.t2.medium"),
        "xgboost:1.7-1:cpu": uri("xgboost", "1.7-1", "ml.t2.medium"),
        "xgboost:1.7-1:gpu": uri("xgboost", "1.7-1", "ml.g4dn.xlarge"),
    }
    assert platform.serving.framework_images == expected
    # the Lambdas that choose images read it through their settings (contracts.md)
    from functions.workflows.settings import DeploymentsSettings

    functions = resources(templates["api"], "AWS::Lambda::Function").values()
    env = next(f["Properties"]["Environment"]["Variables"] for f in functions
               if f["Properties"].get("Handler") == "functions.deployments.handler.lambda_handler")  # fmt: skip
    # tokens (table names, ARNs) become placeholders; the literal values are read as deployed
    for name, value in env.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else "placeholder")
    assert dict(DeploymentsSettings().rules().images.frameworks) == expected
    # endpoints pull them with the execution role, from those repositories only
    pulls = [
        json.dumps(s["Resource"]) for p in resources(templates["serving"], "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"] if "ecr:BatchGetImage" in s["Action"]
    ]  # fmt: skip
    for image in expected.values():
        assert any(json.dumps(ecr_repository_arn(image)) in pull for pull in pulls), image


def test_a_framework_image_the_stage_cannot_run_fails_the_synth_with_its_name():
    gpu = FrameworkImage(framework="sklearn", version="1.2-1", accelerators=("gpu",))
    with pytest.raises(ValueError, match="no AWS sklearn 1.2-1 inference image for ml.g5.xlarge"):
        framework_catalog([gpu], region="us-east-1", allowed_instance_types=("ml.m5.large", "ml.g5.xlarge"))
    with pytest.raises(ValueError, match=r"xgboost 1.7-1 \(gpu\): the stage allows no GPU instance type"):
        framework_catalog([FrameworkImage(framework="xgboost", version="1.7-1", accelerators=("gpu",))],
                          region="us-east-1", allowed_instance_types=("ml.m5.large",))  # fmt: skip
    context = cdk_context(framework_images='[{"framework": "modelport", "version": "1"}]')
    with pytest.raises(SettingsError, match="framework_images.0.framework.*Modelport's own images"):
        load_stage_settings(context.get)


def test_the_sagemaker_role_may_describe_the_rollback_alarms(templates, platform):
    """Deployment guardrails read the auto-rollback alarms with the execution role
    (deployment-guardrails-configuration.html): cloudwatch:DescribeAlarms on them."""
    prefix = platform.serving.settings.endpoint_prefix
    role_policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(templates["serving"], "AWS::IAM::Policy").values()
        if any("SageMakerExecutionRole" in json.dumps(r) for r in p["Properties"]["Roles"])
    ]
    grants = [s for statements in role_policies for s in statements
              if "cloudwatch:DescribeAlarms" in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert grants, "the SageMaker execution role cannot read its rollback alarms"
    resource = json.dumps(grants[0]["Resource"])
    assert f":alarm:{prefix}*" in resource
