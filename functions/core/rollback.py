"""The auto-rollback alarms of one endpoint: one definition for the deploy workflow
(PutMetricAlarm) and the CDK `ModelEndpoint` (AWS::CloudWatch::Alarm).

A blue/green update rolls back when an alarm it names is in ALARM during baking
(deployment-guardrails-blue-green.html). A count of one server error would let any single
failing request (or a caller who can provoke one) roll a deployment back, so the error
alarm judges a *rate* with a minimum sample, in CloudWatch metric math:
`IF(invocations >= N, errors / invocations, 0)` over one minute, where `errors` is
`Invocation5XXErrors`: client errors (`Invocation4XXErrors`) never count. The latency
alarm (p99 `ModelLatency`) needs the same minimum sample, or one slow request is the p99.
The property names are those of PutMetricAlarm, which are also AWS::CloudWatch::Alarm's.
"""

from __future__ import annotations

from typing import Any

from functions.core.endpoints import EndpointSettings

NAMESPACE = "AWS/SageMaker"
PERIOD_S = 60


def alarm_names(endpoint: str) -> list[str]:
    """Both start with the endpoint name, so IAM can scope them by the stage's prefix."""
    return [f"{endpoint}-error-rate", f"{endpoint}-model-latency"]


def _stat(id: str, metric: str, stat: str, endpoint: str, variant: str) -> dict[str, Any]:
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    return {
        "Id": id,
        "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                       "Period": PERIOD_S, "Stat": stat},
        "ReturnData": False,
    }


def sampled(expression: str, minimum: int) -> str:
    """`expression` where a minute has at least `minimum` invocations, else 0 (not breaching)."""
    return f"IF(invocations >= {minimum}, {expression}, 0)"


def rollback_alarms(
    endpoint: str, variant: str, settings: EndpointSettings, notify: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """PutMetricAlarm arguments (= AWS::CloudWatch::Alarm properties) of both alarms.

    `notify`: SNS topic ARNs told when an alarm goes to ALARM and back to OK (the stage's
    alarm topic, for endpoints the operators answer for).
    """
    errors_name, latency_name = alarm_names(endpoint)
    minimum = settings.alarm_min_invocations
    common: dict[str, Any] = {"EvaluationPeriods": 1, "DatapointsToAlarm": 1, "TreatMissingData": "notBreaching",
                              "ComparisonOperator": "GreaterThanThreshold"}
    if notify:
        common |= {"AlarmActions": list(notify), "OKActions": list(notify)}
    invocations = _stat("invocations", "Invocations", "Sum", endpoint, variant)
    return [
        {
            "AlarmName": errors_name,
            "AlarmDescription": (
                f"{endpoint}: more than {settings.error_alarm_rate:.1%} of invocations answered 5xx in a minute "
                f"with at least {minimum} invocations (rolls back a blue/green update)"
            ),
            "Metrics": [
                _stat("errors", "Invocation5XXErrors", "Sum", endpoint, variant), invocations,
                {"Id": "rate", "Expression": sampled("errors / invocations", minimum),
                 "Label": "5xx share of invocations", "ReturnData": True},
            ],
            "Threshold": float(settings.error_alarm_rate),
            **common,
        },
        {
            "AlarmName": latency_name,
            "AlarmDescription": (
                f"{endpoint}: p99 model latency above {settings.latency_alarm_ms} ms in a minute with at least "
                f"{minimum} invocations (rolls back a blue/green update)"
            ),
            "Metrics": [
                _stat("latency", "ModelLatency", "p99", endpoint, variant), invocations,
                {"Id": "p99", "Expression": sampled("latency", minimum), "Label": "p99 model latency (µs)",
                 "ReturnData": True},
            ],
            # ModelLatency is reported in microseconds
            "Threshold": float(settings.latency_alarm_ms * 1000),
            **common,
        },
    ]


def error_rate_breached(invocations: int, errors: int, *, rate: float, minimum: int) -> bool:
    """The error alarm's rule on counts: at least `minimum` invocations and a 5xx share above `rate`."""
    return invocations >= minimum and errors / invocations > rate
