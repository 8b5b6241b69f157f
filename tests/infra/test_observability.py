"""Observability: alarms on API, endpoints, workflows and the DLQ, to an encrypted topic."""

from __future__ import annotations

import json
import re

from tests.infra.conftest import resources


def test_alarm_topic_is_encrypted_and_tls_only(templates):
    """It lives in the Data stack, below every stack whose alarms notify it (no cycle)."""
    template = templates["data"]
    assert resources(templates["observability"], "AWS::SNS::Topic") == {}
    topics = resources(template, "AWS::SNS::Topic").values()
    assert len(topics) == 1 and "KmsMasterKeyId" in next(iter(topics))["Properties"]
    statements = [s for p in resources(template, "AWS::SNS::TopicPolicy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)  # fmt: skip


def test_every_platform_alarm_notifies_the_topic(templates, platform):
    alarms = resources(templates["observability"], "AWS::CloudWatch::Alarm").values()
    described = " ".join(a["Properties"]["AlarmDescription"] for a in alarms)
    for what in ("API 5XX", "API 4XX", "API p99 latency", "failed workflow executions", "DLQ",
                 "drift runs that found drift"):  # fmt: skip
        assert what in described
    for alarm in alarms:
        [action] = alarm["Properties"]["AlarmActions"]
        assert "Fn::ImportValue" in action and "AlarmTopic" in json.dumps(action)


def test_thresholds_come_from_stage_settings(templates, platform):
    thresholds = platform.observability.alarms
    settings = platform.data.settings.alarms
    assert thresholds["Api5xx"].node.default_child.threshold == settings.api_5xx_count
    assert thresholds["DatasetDlq"].node.default_child.threshold == settings.dlq_depth


_WHERE = re.compile(r"\bWHERE\b(?P<where>.*?)(?=\bGROUP BY\b|\bORDER BY\b|\bLIMIT\b|$)", re.IGNORECASE | re.DOTALL)
_CONDITION = re.compile(r"^\s*[A-Za-z_][\w.]*\s*(=|!=)\s*'[^']*'\s*$")


def _metrics_insights_queries(templates) -> list[str]:
    """Every Metrics Insights query of the platform: alarm metrics and dashboard widgets."""
    queries = []
    for template in templates.values():
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
            queries += [m["Expression"] for m in alarm["Properties"].get("Metrics", []) if "Expression" in m]
        for dashboard in resources(template, "AWS::CloudWatch::Dashboard").values():
            body = json.dumps(dashboard["Properties"]["DashboardBody"])
            queries += re.findall(r'(SELECT [^"\\]*(?:\\.[^"\\]*)*)', body)
    return [q.replace('\\"', '"') for q in queries if q.lstrip().upper().startswith("SELECT")]


def test_metrics_insights_queries_use_the_documented_grammar(templates):
    """`[ WHERE labelKey OPERATOR labelValue [AND ...] ]` with `=` or `!=`: no LIKE, no OR
    (cloudwatch-metrics-insights-querylanguage.html)."""
    queries = _metrics_insights_queries(templates)
    assert queries, "the dashboard graphs the endpoints with Metrics Insights"
    for query in queries:
        found = _WHERE.search(query)
        if found:
            for condition in re.split(r"\bAND\b", found["where"], flags=re.IGNORECASE):
                assert _CONDITION.match(condition), (query, condition)


def test_endpoint_alarms_are_the_rollback_alarms_of_each_endpoint(templates):
    """Endpoints come and go with deployments and the documented WHERE has no prefix match,
    so endpoint errors and latency are alarmed per endpoint, by the deploy workflow (and
    ModelEndpoint), with the rule of functions.core.rollback; none span the stage."""
    alarms = resources(templates["observability"], "AWS::CloudWatch::Alarm").values()
    assert not any("AWS/SageMaker" in json.dumps(a) for a in alarms)


def test_dashboard_shows_api_endpoints_workflows_and_dlq(templates):
    body = json.dumps(next(iter(resources(templates["observability"], "AWS::CloudWatch::Dashboard").values())))
    for title in ("API errors", "API latency", "Endpoint invocations", "Endpoint model latency",
                  "Endpoint errors", "Workflow failures", "Dataset and capture DLQ depth",
                  "Drift (1 = drifted) per model and alias"):  # fmt: skip
        assert title in body


def test_every_log_group_has_retention_and_a_key(templates):
    groups = [g for t in templates.values() for g in resources(t, "AWS::Logs::LogGroup").values()]
    assert len(groups) >= 17  # 13 Lambdas, 3 state machines, API access logs
    assert all(g["Properties"].get("RetentionInDays") == 30 and "KmsKeyId" in g["Properties"] for g in groups)


def test_a_drifted_run_raises_the_drift_alarm(templates):
    """The drift job's `Drifted` metric (per model and alias) feeds one alarm over all of them."""
    alarms = resources(templates["observability"], "AWS::CloudWatch::Alarm").values()
    [drift] = [a["Properties"] for a in alarms if "drift" in a["Properties"]["AlarmDescription"]]
    [query] = [m["Expression"] for m in drift["Metrics"] if "Expression" in m]
    assert query == 'SELECT MAX(Drifted) FROM SCHEMA("Modelport/Monitoring", Alias, Model)'
    assert drift["Threshold"] == 1 and drift["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
