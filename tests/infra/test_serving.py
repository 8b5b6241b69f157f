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
from functions.core.stages import FRAMEWORK_IMAGES_REFUSED
from infra.constructs.model_endpoint import ModelEndpoint
from infra.settings import SettingsError, load_stage_settings
from tests.infra.conftest import CPU_DIGEST, GPU_DIGEST, cdk_context, resources
from tests.infra.conftest import PINNED as PINNED_SETTINGS

PINNED = endpoint_name("dev", "churn", "production")


def test_repositories_scan_on_push_with_immutable_tags(templates):
    repos = resources(templates["serving"], "AWS::ECR::Repository").values()
    assert len(repos) == 2
    for repo in repos:
        assert repo["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repo["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def test_pinned_endpoints_have_a_fixed_instance_count(templates):
    """CloudFormation cannot change the instance type of a variant with a scalable target
    (SageMaker refuses the update until it is deregistered, endpoint-scaling-update.html),
    so pinned endpoints never get one; the deploy workflow autoscales."""
    template = templates["serving"]
    assert resources(template, "AWS::ApplicationAutoScaling::ScalableTarget") == {}
    assert resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy") == {}


def _pinned(**changes) -> str:
    churn = {**PINNED_SETTINGS[0], **changes}
    return json.dumps([churn])


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [({"instance_type": "ml.g5.xlarge", "initial_instance_count": 2, "min_instances": 2, "max_instances": 6},
      "a pinned endpoint has a fixed instance count"),
     ({"instance_type": "ml.g5.xlarge", "initial_instance_count": 1, "min_instances": 2, "max_instances": 2},
      "initial_instance_count must lie within")],
)
def test_an_autoscaled_pinned_endpoint_fails_the_synth_with_the_reason(endpoint, message):
    context = cdk_context(pinned_endpoints=_pinned(endpoint=endpoint))
    with pytest.raises(SettingsError, match=message) as raised:
        load_stage_settings(context.get)
    if "fixed" in message:
        assert "cannot change the instance type" in str(raised.value) and "deploy workflow" in str(raised.value)


@pytest.mark.parametrize(
    ("image", "message"),
    [(None, "name Modelport's image by digest"), ({"version": "0.1.0", "digest": GPU_DIGEST}, "by digest, not by tag"),
     ({"digest": "sha256:short"}, "String should match pattern")],
)
def test_a_pinned_endpoint_without_a_pushed_image_fails_the_synth_with_the_reason(image, message):
    """A first deploy creates the image repositories empty: a tag names nothing yet."""
    churn = {k: v for k, v in PINNED_SETTINGS[0].items() if k != "image"}
    if image is not None:
        churn["image"] = image
    with pytest.raises(SettingsError, match=message) as raised:
        load_stage_settings(cdk_context(pinned_endpoints=json.dumps([churn])).get)
    if image is None:
        assert "repositories start empty" in str(raised.value) and "push the images" in str(raised.value)


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


def test_pinned_endpoint_captures_data_and_uses_the_gpu_image_by_digest(templates):
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
    images = [json.dumps(m["Properties"]["PrimaryContainer"]["Image"]) for m in models]
    assert any("GpuImages" in image and f"@{GPU_DIGEST}" in image for image in images)
    assert any("CpuImages" in image and f"@{CPU_DIGEST}" in image for image in images)


def test_rollback_alarms_of_pinned_endpoints_notify_the_stages_alarm_topic(templates, platform):
    """The topic is the Data stack's, so the Serving stack (and the deploy workflow) can
    reference it without a cycle with the Observability stack."""
    topic = platform.data.resolve(platform.data.alarm_topic.topic_arn)
    alarms = resources(templates["serving"], "AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 4  # two pinned endpoints, error rate and latency each
    for alarm in alarms:
        for actions in (alarm["Properties"]["AlarmActions"], alarm["Properties"]["OKActions"]):
            [action] = actions
            assert "Fn::ImportValue" in action and "AlarmTopic" in json.dumps(action), (action, topic)


@pytest.mark.parametrize("setting", [
    {"framework_images": '[{"framework": "sklearn", "version": "1.2-1"}]'},
    {"pinned_endpoints": json.dumps([{"model": "iris", "artifact_key": "models/iris/1.0.0/model.tar.gz",
                                      "image": {"framework": "sklearn", "digest": CPU_DIGEST}}])},
])
def test_aws_framework_images_fail_the_synth_with_the_reason(setting):
    """AWS's scikit-learn and XGBoost containers run an inference script of the artifact's
    own (SAGEMAKER_PROGRAM in SAGEMAKER_SUBMIT_DIRECTORY) that Modelport artifacts lack."""
    with pytest.raises(SettingsError) as raised:
        load_stage_settings(cdk_context(**setting).get)
    assert FRAMEWORK_IMAGES_REFUSED in str(raised.value)


def test_construct_renders_the_workflow_deployment_config():
    """The construct and the deploy workflow render DeploymentConfig through one method."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(region="eu-west-1"))
    settings = EndpointSettings(
        instance_type="ml.m5.xlarge", strategy=TrafficStrategy.parse("linear:20%:60s"), initial_instance_count=3,
        min_instances=3, max_instances=3,
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


def test_the_construct_refuses_autoscaling():
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(region="eu-west-1"))
    with pytest.raises(ValueError, match="a fixed instance count only"):
        ModelEndpoint(
            stack, "E", endpoint_name="mp-x-m-a", settings=EndpointSettings(max_instances=3), image_uri="img",
            model_data_url="s3://b/k", capture_s3_uri="s3://c/captures", kms_key=kms.Key(stack, "K"),
            execution_role=iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")),
        )  # fmt: skip


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
