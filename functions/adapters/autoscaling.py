"""Application Auto Scaling adapter: target tracking on a SageMaker endpoint variant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def policy_name(endpoint: str) -> str:
    return f"{endpoint}-invocations"


class Scaling(BaseModel):
    """A variant's scalable target and its invocations target (None: no tracking policy)."""

    min_instances: int
    max_instances: int
    target_invocations: float | None = None


class EndpointAutoscaling:
    def __init__(self, client: Any) -> None:
        self._scaling = client

    def describe(self, endpoint: str, variant: str) -> Scaling | None:
        rid = resource_id(endpoint, variant)
        targets = self._scaling.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION
        )["ScalableTargets"]
        if not targets:
            return None
        policies = self._scaling.describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )["ScalingPolicies"]
        target = next(
            (p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] for p in policies
             if p.get("PolicyName") == policy_name(endpoint)),
            None,
        )
        return Scaling(min_instances=targets[0]["MinCapacity"], max_instances=targets[0]["MaxCapacity"],
                       target_invocations=target)

    def configure(self, endpoint: str, variant: str, scaling: Scaling) -> None:
        """Register (or update) the scalable target and the target-tracking policy."""
        rid = resource_id(endpoint, variant)
        self._scaling.register_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
            MinCapacity=scaling.min_instances, MaxCapacity=scaling.max_instances,
        )
        if scaling.target_invocations is None:
            return
        self._scaling.put_scaling_policy(
            PolicyName=policy_name(endpoint), ServiceNamespace=NAMESPACE, ResourceId=rid,
            ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(scaling.target_invocations),
                "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
                # the same cool-downs as the CDK ModelEndpoint construct
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        )

    def remove(self, endpoint: str, variant: str) -> None:
        """Delete the policy and deregister the target (SageMaker refuses an update that
        changes the instance type of an autoscaled variant)."""
        rid = resource_id(endpoint, variant)
        policies = self._scaling.describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )["ScalingPolicies"]
        for policy in policies:
            self._scaling.delete_scaling_policy(
                PolicyName=policy["PolicyName"], ServiceNamespace=NAMESPACE, ResourceId=rid,
                ScalableDimension=DIMENSION,
            )
        self._scaling.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )
