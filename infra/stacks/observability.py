"""Observability stack: one dashboard and the platform's alarms, to the stage's alarm topic
(a KMS-encrypted SNS topic of the Data stack)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from infra.settings import StageSettings
from infra.stacks.api import ApiStack
from infra.stacks.data import DataStack
from infra.stacks.workflows import MONITORING_NAMESPACE

_PERIOD = Duration.minutes(5)
#: drift runs are hourly or rarer; Metrics Insights queries look back at most 3 hours.
_DRIFT_PERIOD = Duration.hours(1)


class ObservabilityStack(Stack):
    """Exposes `topic`, `dashboard` and `alarms` (name → Alarm)."""

    def __init__(
        self, scope: Construct, id: str, *, settings: StageSettings, data: DataStack, api: ApiStack, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        thresholds = settings.alarms
        self.topic = data.alarm_topic

        rest_api = api.api
        api_5xx = rest_api.metric_server_error(period=_PERIOD, statistic="Sum")
        api_4xx = rest_api.metric_client_error(period=_PERIOD, statistic="Sum")
        api_latency = rest_api.metric_latency(period=_PERIOD, statistic="p99")
        endpoints = _EndpointMetrics()
        machines = (api.workflows.deploy_state_machine, api.workflows.retrain_state_machine)
        workflow_failures = cw.MathExpression(
            expression="+".join(f"f{i} + t{i} + a{i}" for i in range(len(machines))),
            using_metrics={
                f"{letter}{i}": metric
                for i, machine in enumerate(machines)
                for letter, metric in (
                    ("f", machine.metric_failed(period=_PERIOD, statistic="Sum")),
                    ("t", machine.metric_timed_out(period=_PERIOD, statistic="Sum")),
                    ("a", machine.metric_aborted(period=_PERIOD, statistic="Sum")),
                )
            },
            label="Failed, timed-out and aborted workflow executions",
            period=_PERIOD,
        )
        dlq_depth = data.dataset_dlq.metric_approximate_number_of_messages_visible(period=_PERIOD, statistic="Maximum")
        capture_dlq_depth = data.capture_dlq.metric_approximate_number_of_messages_visible(
            period=_PERIOD, statistic="Maximum")
        # the drift job publishes Drifted (1/0) per model and alias after every run
        drifted = cw.MathExpression(
            expression=f'SELECT MAX(Drifted) FROM SCHEMA("{MONITORING_NAMESPACE}", Alias, Model)',
            using_metrics={}, label="Drifted model aliases (max over runs)", period=_DRIFT_PERIOD,
        )
        drift_by_alias = cw.MathExpression(
            expression=f'SELECT MAX(Drifted) FROM SCHEMA("{MONITORING_NAMESPACE}", Alias, Model) GROUP BY Model, Alias',
            using_metrics={}, label="Drifted (per model and alias)", period=_DRIFT_PERIOD,
        )

        self.alarms = {
            "Api5xx": self._alarm("Api5xx", api_5xx, thresholds.api_5xx_count, "API 5XX errors"),
            "Api4xx": self._alarm("Api4xx", api_4xx, thresholds.api_4xx_count, "API 4XX errors"),
            "ApiLatency": self._alarm("ApiLatency", api_latency, thresholds.api_latency_p99_ms, "API p99 latency (ms)"),
            "WorkflowFailures": self._alarm(
                "WorkflowFailures", workflow_failures, thresholds.workflow_failures, "failed workflow executions"
            ),
            "DatasetDlq": self._alarm("DatasetDlq", dlq_depth, thresholds.dlq_depth, "dataset events in the DLQ"),
            "CaptureDlq": self._alarm("CaptureDlq", capture_dlq_depth, thresholds.dlq_depth,
                                      "capture-file events in the DLQ"),
            "ModelDrift": self._alarm("ModelDrift", drifted, 1, "drift runs that found drift", per="hour"),
        }

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="API errors", left=[api_4xx, api_5xx], width=8),
            cw.GraphWidget(title="API latency p99 (ms)", left=[api_latency], width=8),
            cw.GraphWidget(title="Workflow failures", left=[workflow_failures], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Endpoint invocations", left=[endpoints.query("Invocations", "SUM", per_endpoint=True)], width=8),
            cw.GraphWidget(title="Endpoint model latency, max (µs)", left=[endpoints.query("ModelLatency", "MAX", per_endpoint=True)], width=8),
            cw.GraphWidget(
                title="Endpoint errors",
                left=[
                    endpoints.query("Invocation4XXErrors", "SUM", per_endpoint=True),
                    endpoints.query("Invocation5XXErrors", "SUM", per_endpoint=True),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Drift (1 = drifted) per model and alias", left=[drift_by_alias], width=24),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Dataset and capture DLQ depth", left=[dlq_depth, capture_dlq_depth], width=8),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=16),
        )

    def _alarm(self, id: str, metric: cw.IMetric, threshold: float, what: str, per: str = "5 minutes") -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            alarm_description=f"Modelport: {what} at or above {threshold} per {per}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        return alarm


class _EndpointMetrics:
    """Graphs over the region's SageMaker endpoints, one line per endpoint name (the stage's
    start with its endpoint prefix). Metrics Insights' documented WHERE has only `=`, `!=`
    and `AND` (cloudwatch-metrics-insights-querylanguage.html), so a name prefix cannot be
    selected; alarms are therefore per endpoint: the auto-rollback alarms that the deploy
    workflow and ModelEndpoint create (functions.core.rollback)."""

    def query(self, metric: str, aggregate: str, *, per_endpoint: bool = True) -> cw.MathExpression:
        return cw.MathExpression(
            expression=(
                f'SELECT {aggregate}({metric}) FROM SCHEMA("AWS/SageMaker", EndpointName, VariantName)'
                + (" GROUP BY EndpointName" if per_endpoint else "")
            ),
            using_metrics={},
            label=f"{metric} ({aggregate.lower()}) per endpoint",
            period=_PERIOD,
        )
