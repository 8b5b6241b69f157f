"""CloudWatch adapter: the auto-rollback alarms of one endpoint (as the CDK ModelEndpoint makes them)."""

from __future__ import annotations

from typing import Any


def alarm_names(endpoint: str) -> list[str]:
    """Both start with the endpoint name, so IAM can scope them by the stage's prefix."""
    return [f"{endpoint}-invocation-5xx", f"{endpoint}-model-latency"]


class EndpointAlarms:
    def __init__(self, client: Any) -> None:
        self._cloudwatch = client

    def ensure(self, endpoint: str, variant: str, *, latency_ms: int, errors: int = 1) -> list[str]:
        """Create or update the 5xx and p99-latency alarms; returns their names."""
        errors_name, latency_name = alarm_names(endpoint)
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        self._cloudwatch.put_metric_alarm(
            AlarmName=errors_name,
            AlarmDescription=f"{endpoint}: model errors (rolls back a blue/green update)",
            Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors", Dimensions=dimensions,
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=float(errors),
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        )
        self._cloudwatch.put_metric_alarm(
            AlarmName=latency_name,
            AlarmDescription=f"{endpoint}: p99 model latency (rolls back a blue/green update)",
            Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=dimensions,
            ExtendedStatistic="p99", Period=60, EvaluationPeriods=2,
            # ModelLatency is reported in microseconds
            Threshold=float(latency_ms * 1000),
            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        )
        return [errors_name, latency_name]
