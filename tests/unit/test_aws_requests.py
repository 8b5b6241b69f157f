"""Every SageMaker, Application Auto Scaling, API Gateway, CloudWatch (and IAM) request the
Lambdas make is valid for botocore's service model.

The call graph (tests/infra/callgraph.py) lists every boto3 call each Lambda's code can
make; each one is driven here through its adapter, with the arguments the steps build
(the core's own objects), against a client whose every request botocore's `ParamValidator`
checks before a Stubber answers it (with a response valid for the output shape). A call of
these services that no driver makes fails `test_every_call_of_these_services_is_driven`.
The ASL's native Tasks are checked from real runs (tests/workflows/asl_requests.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from functions.adapters.apigateway import AuthorizerCache
from functions.adapters.autoscaling import EndpointAutoscaling, Scaling
from functions.adapters.cloudwatch import EndpointAlarms
from functions.adapters.iam import ExecutionRoles
from functions.adapters.sagemaker import SageMakerEndpoints, SageMakerTraining
from functions.adapters.wiring import FlushAuthorizers
from functions.core.endpoints import EndpointSettings, TrafficStrategy, endpoint_name
from functions.workflows.deploy_plan import VARIANT
from tests.infra.callgraph import lambda_calls
from tests.infra.test_iam import HANDLERS

SERVICES = {"sagemaker", "application-autoscaling", "apigateway", "cloudwatch", "iam"}
NOW = datetime(2025, 1, 1, tzinfo=UTC)
ENDPOINT = endpoint_name("dev", "churn", "production")
TOPIC = "arn:aws:sns:us-east-1:123456789012:Modelport-dev-alarms"
SETTINGS = EndpointSettings(instance_type="ml.g5.xlarge", initial_instance_count=2, min_instances=2, max_instances=6,
                            strategy=TrafficStrategy.parse("canary:10%:120s"), latency_alarm_ms=800,
                            target_invocations_per_instance=250)


class Validating:
    """Clients whose every request is checked against botocore's model, answered by Stubbers;
    `sent` records (service, method, request) of each request that passed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []
        self.stubs: dict[str, Stubber] = {}

    def client(self, service: str):
        if service not in self.stubs:
            made = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            made.meta.events.register("before-parameter-build", self._validate)
            self.stubs[service] = Stubber(made)
            self.stubs[service].activate()
        return self.stubs[service].client

    def _validate(self, params, model, **_kwargs) -> None:
        # botocore's own check (the client runs it too, unless a Config turns it off)
        validate_parameters(params, model.input_shape)
        methods = {v: k for k, v in self.stubs[model.service_model.service_name].client.meta.method_to_api_mapping.items()}
        self.sent.append((model.service_model.service_name, methods[model.name], params))

    def answer(self, service: str, method: str, response: dict | None = None, *, error: str | None = None,
               message: str = "") -> None:
        stub = self.stubs.get(service) or (self.client(service), self.stubs[service])[1]
        if error:
            stub.add_client_error(method, service_error_code=error, service_message=message)
        else:
            stub.add_response(method, response or {})

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def _endpoint(status: str = "InService") -> dict:
    return {"EndpointName": ENDPOINT, "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{ENDPOINT}",
            "EndpointConfigName": f"{ENDPOINT}-d1", "EndpointStatus": status, "CreationTime": NOW,
            "LastModifiedTime": NOW}


def sagemaker_endpoints(v: Validating) -> None:
    sm = SageMakerEndpoints(v.client("sagemaker"))
    v.answer("sagemaker", "describe_endpoint", _endpoint())
    assert sm.describe_endpoint(ENDPOINT)["EndpointStatus"] == "InService"
    v.answer("sagemaker", "describe_endpoint", error="ValidationException", message=f'Could not find endpoint "{ENDPOINT}".')
    assert sm.describe_endpoint(ENDPOINT) is None
    v.answer("sagemaker", "describe_endpoint_config", {
        "EndpointConfigName": f"{ENDPOINT}-d1", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/x",
        "CreationTime": NOW, "ProductionVariants": [{"VariantName": VARIANT, "ModelName": "m",
                                                     "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 2}]})
    assert sm.describe_endpoint_config(f"{ENDPOINT}-d1")["ProductionVariants"][0]["VariantName"] == VARIANT
    v.answer("sagemaker", "update_endpoint", {"EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{ENDPOINT}"})
    sm.update_endpoint(ENDPOINT, f"{ENDPOINT}-d0")
    v.answer("sagemaker", "delete_endpoint")
    sm.delete_endpoint(ENDPOINT)


def sagemaker_training(v: Validating) -> None:
    from functions.workflows.retrain_steps import job_name

    name = job_name("dev", "churn", "20250101-000000-abcdef")
    training = SageMakerTraining(v.client("sagemaker"))
    v.answer("sagemaker", "describe_training_job", {
        "TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}",
        "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training", "CreationTime": NOW,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "1.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400}, "ModelArtifacts": {"S3ModelArtifacts": "s3://a/m.tar.gz"}})
    assert training.describe_training_job(name)["TrainingJobStatus"] == "InProgress"
    v.answer("sagemaker", "stop_training_job")
    training.stop_training_job(name)


def autoscaling(v: Validating) -> None:
    scaling = EndpointAutoscaling(v.client("application-autoscaling"))
    rid = f"endpoint/{ENDPOINT}/variant/{VARIANT}"
    v.answer("application-autoscaling", "register_scalable_target")
    v.answer("application-autoscaling", "put_scaling_policy", {
        "PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x", "Alarms": []})
    scaling.configure(ENDPOINT, VARIANT, Scaling(min_instances=SETTINGS.min_instances, max_instances=SETTINGS.max_instances,
                                                 target_invocations=SETTINGS.target_invocations_per_instance))
    target = {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
              "MinCapacity": 2, "MaxCapacity": 6, "RoleARN": "arn:aws:iam::1:role/x", "CreationTime": NOW}
    policy = {"PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x", "PolicyName": f"{ENDPOINT}-invocations",
              "ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": target["ScalableDimension"],
              "PolicyType": "TargetTrackingScaling", "CreationTime": NOW,
              "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 250.0}}
    v.answer("application-autoscaling", "describe_scalable_targets", {"ScalableTargets": [target]})
    v.answer("application-autoscaling", "describe_scaling_policies", {"ScalingPolicies": [policy]})
    assert scaling.describe(ENDPOINT, VARIANT).target_invocations == 250.0
    v.answer("application-autoscaling", "describe_scaling_policies", {"ScalingPolicies": [policy]})
    v.answer("application-autoscaling", "delete_scaling_policy")
    v.answer("application-autoscaling", "deregister_scalable_target")
    scaling.remove(ENDPOINT, VARIANT)


def cloudwatch(v: Validating) -> None:
    alarms = EndpointAlarms(v.client("cloudwatch"))
    for notify in ((), (TOPIC,)):  # a staging endpoint's alarms, and a production one's
        v.answer("cloudwatch", "put_metric_alarm")
        v.answer("cloudwatch", "put_metric_alarm")
        assert len(alarms.ensure(ENDPOINT, VARIANT, SETTINGS, notify)) == 2


def apigateway(v: Validating) -> None:
    v.answer("apigateway", "flush_stage_authorizers_cache")
    AuthorizerCache(v.client("apigateway"), "a1b2c3d4e5", "dev").flush()
    v.answer("apigateway", "flush_stage_authorizers_cache")
    FlushAuthorizers(v.client, "a1b2c3d4e5", "dev").flush()


def iam(v: Validating) -> None:
    roles = ExecutionRoles(v.client("iam"), path="/modelport/dev/",
                           boundary_arn="arn:aws:iam::123456789012:policy/Modelport-dev-boundary")
    v.answer("iam", "get_role", error="NoSuchEntity", message="The role cannot be found.")
    role = {"Path": "/modelport/dev/", "RoleName": "mp-dev-churn", "RoleId": "AROA0123456789EXAMPLE",
            "Arn": "arn:aws:iam::123456789012:role/modelport/dev/mp-dev-churn", "CreateDate": NOW}
    v.answer("iam", "create_role", {"Role": role})
    v.answer("iam", "put_role_policy")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    roles.ensure("mp-dev-churn", trust=trust, policy={"Version": "2012-10-17", "Statement": []},
                 description="churn's endpoints and training jobs")


def monitoring(v: Validating) -> None:
    """The drift job (a processing job) and its CloudWatch metrics (issue 13's adapters): Describe,
    Stop of a job that ended meanwhile (not an error), and a wide model's metrics (two PutMetricData)."""
    from functions.adapters.monitoring import MonitoringMetrics, ProcessingJobs

    jobs = ProcessingJobs(v.client("sagemaker"))
    name = "mp-dev-drift-churn-production-0123456789ab"
    v.answer("sagemaker", "describe_processing_job", {
        "ProcessingJobName": name, "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:1:processing-job/{name}",
        "ProcessingJobStatus": "InProgress", "CreationTime": NOW, "AppSpecification": {"ImageUri": "1.dkr.ecr/x:1"},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 30}}})
    assert jobs.describe(name)["ProcessingJobStatus"] == "InProgress"
    v.answer("sagemaker", "stop_processing_job", error="ValidationException", message="the job has ended")
    jobs.stop(name)  # it ended meanwhile: not an error
    metrics = MonitoringMetrics(v.client("cloudwatch"))
    v.answer("cloudwatch", "put_metric_data")
    v.answer("cloudwatch", "put_metric_data")
    metrics.publish("churn", "production", at=NOW, drifted=True, rows=1200, metric="accuracy", live=0.81,
                    scores={**{f"x{i}": 0.01 * i for i in range(600)}, "missing": None})


DRIVERS: dict[str, Callable[[Validating], None]] = {
    "sagemaker endpoints": sagemaker_endpoints, "sagemaker training": sagemaker_training,
    "application-autoscaling": autoscaling, "cloudwatch": cloudwatch, "apigateway": apigateway, "iam": iam,
    "monitoring": monitoring,
}


def _driven() -> set[tuple[str, str]]:
    validating = Validating()
    for driver in DRIVERS.values():
        driver(validating)
    validating.done()
    return {(service, method) for service, method, _ in validating.sent}


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_each_request_is_valid_for_botocores_model(driver):
    validating = Validating()
    DRIVERS[driver](validating)
    validating.done()
    assert validating.sent


def test_every_call_of_these_services_is_driven():
    """A new call of these services in any Lambda needs a driver here, so its request is checked."""
    called = {(c.service, c.method) for handler in HANDLERS for c in lambda_calls(handler) if c.service in SERVICES}
    assert called, "the call graph found no call of these services"
    assert called - _driven() == set()


def test_a_misspelt_or_mis_shaped_request_fails_the_check():
    from functions.core.rollback import rollback_alarms

    validating = Validating()
    client = validating.client("cloudwatch")
    alarm = rollback_alarms(ENDPOINT, VARIANT, SETTINGS, (TOPIC,))[0]
    validating.answer("cloudwatch", "put_metric_alarm")  # a response is there: only the check can refuse
    with pytest.raises(ParamValidationError, match="Unknown parameter in input: \"Threshhold\""):
        client.put_metric_alarm(**{k if k != "Threshold" else "Threshhold": v for k, v in alarm.items()})
    with pytest.raises(ParamValidationError, match="AlarmActions"):
        client.put_metric_alarm(**{**alarm, "AlarmActions": TOPIC})
    assert validating.sent == []
