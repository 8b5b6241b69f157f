"""Observability: alarms on API, endpoints, workflows and the DLQ, to an encrypted topic."""

from __future__ import annotations

import json

from tests.infra.conftest import resources


def test_alarm_topic_is_encrypted_and_tls_only(templates):
    template = templates["observability"]
    topics = resources(template, "AWS::SNS::Topic").values()
    assert len(topics) == 1 and "KmsMasterKeyId" in next(iter(topics))["Properties"]
    statements = [s for p in resources(template, "AWS::SNS::TopicPolicy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)  # fmt: skip


def test_every_platform_alarm_notifies_the_topic(templates, platform):
    alarms = resources(templates["observability"], "AWS::CloudWatch::Alarm").values()
    described = " ".join(a["Properties"]["AlarmDescription"] for a in alarms)
    for what in ("API 5XX", "API 4XX", "API p99 latency", "model 5XX", "model latency",
                 "failed workflow executions", "DLQ"):  # fmt: skip
        assert what in described
    topic = next(iter(resources(templates["observability"], "AWS::SNS::Topic")))
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]


def test_thresholds_come_from_stage_settings(templates, platform):
    thresholds = platform.observability.alarms
    settings = platform.data.settings.alarms
    assert thresholds["Api5xx"].node.default_child.threshold == settings.api_5xx_count
    assert thresholds["DatasetDlq"].node.default_child.threshold == settings.dlq_depth


def test_endpoint_alarms_cover_every_stage_endpoint(templates):
    alarms = resources(templates["observability"], "AWS::CloudWatch::Alarm").values()
    queries = [m["Expression"] for a in alarms for m in a["Properties"].get("Metrics", []) if "Expression" in m]
    assert any("Invocation5XXErrors" in q and "LIKE 'mp-dev-%'" in q for q in queries)


def test_dashboard_shows_api_endpoints_workflows_and_dlq(templates):
    body = json.dumps(next(iter(resources(templates["observability"], "AWS::CloudWatch::Dashboard").values())))
    for title in ("API errors", "API latency", "Endpoint invocations", "Endpoint model latency",
                  "Endpoint errors", "Workflow failures", "Dataset DLQ depth"):  # fmt: skip
        assert title in body


def test_every_log_group_has_retention_and_a_key(templates):
    groups = [g for t in templates.values() for g in resources(t, "AWS::Logs::LogGroup").values()]
    assert len(groups) >= 13  # 10 Lambdas, 2 state machines, API access logs
    assert all(g["Properties"].get("RetentionInDays") == 30 and "KmsKeyId" in g["Properties"] for g in groups)
