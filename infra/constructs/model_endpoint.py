"""`ModelEndpoint`: one SageMaker endpoint pinned in IaC, served the way the deploy workflow serves.

It takes the same `EndpointSettings` as the deploy workflow and renders the SageMaker
fragments (deployment config, container environment) through it, so an endpoint kept in
CDK and one deployed by the workflow cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from functions.core.endpoints import CAPTURED_AS_TEXT, EndpointSettings
from functions.core.rollback import rollback_alarms

VARIANT_NAME = "AllTraffic"

#: Instance families with local NVMe storage: SageMaker refuses a volume KMS key for them
#: (their instance storage is always encrypted with a hardware key).
_LOCAL_STORAGE_FAMILIES = (
    "ml.g4dn", "ml.g5", "ml.g6", "ml.g6e", "ml.p3dn", "ml.p4d", "ml.p4de", "ml.p5",
    "ml.c5d", "ml.m5d", "ml.r5d", "ml.c6id", "ml.m6id", "ml.r6id", "ml.inf2", "ml.trn1",
)


def has_instance_storage(instance_type: str) -> bool:
    """True when the instance type's storage is local NVMe (no `KmsKeyId` allowed)."""
    return instance_type.rsplit(".", 1)[0] in _LOCAL_STORAGE_FAMILIES


class ModelEndpoint(Construct):
    """SageMaker model, endpoint config (with data capture) and endpoint (blue/green with
    auto-rollback on the alarms it creates, which tell `notify`'s topics), at a fixed
    instance count.

    No autoscaling: CloudFormation cannot change the instance type of a variant with a
    scalable target (SageMaker refuses UpdateEndpoint until the target is deregistered, and
    CloudFormation would deregister it only after the update), so such an endpoint could
    never change its instance type. The deploy workflow autoscales, and lifts autoscaling
    around an instance type change.

    Exposes `model`, `endpoint_config`, `endpoint`, `error_alarm` and `latency_alarm`. The
    caller grants `execution_role` what the container reads (artifact) and writes (captures).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        settings: EndpointSettings,
        image_uri: str,
        model_data_url: str,
        execution_role: iam.IRole,
        capture_s3_uri: str,
        kms_key: kms.IKey,
        environment: Mapping[str, str] | None = None,
        notify: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        if not settings.min_instances == settings.max_instances == settings.initial_instance_count:
            raise ValueError(
                f"ModelEndpoint {endpoint_name}: a fixed instance count only (initial_instance_count = "
                "min_instances = max_instances); CloudFormation cannot change the instance type of an autoscaled "
                "variant, so autoscaled endpoints are the deploy workflow's"
            )
        self.endpoint_name = endpoint_name
        self.settings = settings

        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri,
                model_data_url=model_data_url,
                environment={**settings.container_environment(), **(environment or {})},
            ),
        )

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.attr_model_name,
                    instance_type=settings.instance_type,
                    initial_instance_count=settings.initial_instance_count,
                    initial_variant_weight=1.0,
                )
            ],
            kms_key_id=None if has_instance_storage(settings.instance_type) else kms_key.key_arn,
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=settings.data_capture_percent > 0,
                initial_sampling_percentage=settings.data_capture_percent,
                destination_s3_uri=capture_s3_uri,
                kms_key_id=kms_key.key_arn,
                capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    csv_content_types=CAPTURED_AS_TEXT["CsvContentTypes"],
                    json_content_types=CAPTURED_AS_TEXT["JsonContentTypes"],
                ),
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
            ),
        )

        # the same definitions the deploy workflow puts (functions.core.rollback): an error
        # *rate* over a minimum sample, never a count of one; 4xx never count
        errors, latency = rollback_alarms(endpoint_name, VARIANT_NAME, settings, notify)
        self.error_alarm = CfnResource(self, "ErrorRateAlarm", type="AWS::CloudWatch::Alarm", properties=errors)
        self.latency_alarm = CfnResource(self, "ModelLatencyAlarm", type="AWS::CloudWatch::Alarm", properties=latency)

        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            # A fixed name: the rollback alarms above watch it and are named after it.
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        # the role's policies must be in place before SageMaker pulls the image and artifact
        self.endpoint.node.add_dependency(execution_role)
        self.endpoint.add_property_override(
            "DeploymentConfig",
            settings.deployment_config([errors["AlarmName"], latency["AlarmName"]]),
        )
