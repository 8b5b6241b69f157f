"""The local EventBridge Scheduler: the embedded Scheduler's rate schedules fire their
templated Step Functions target with the schedule's input, one interval after they were
created or changed, never earlier, and not while disabled."""

from __future__ import annotations

import json

from modelport.local.scheduler import LocalScheduler, rate_seconds
from modelport.local.testing import ROLE_ARN, client


def test_rate_schedules_fire_their_state_machine_once_per_interval(cloud, unique):
    scheduler, sfn = client(cloud, "scheduler"), client(cloud, "stepfunctions")
    machine = sfn.create_state_machine(name=f"tick-{unique}", roleArn=ROLE_ARN, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    scheduler.create_schedule_group(Name=f"group-{unique}")
    scheduler.create_schedule(
        Name=f"every-{unique}", GroupName=f"group-{unique}", ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": ROLE_ARN, "Input": json.dumps({"model": "m", "alias": "production"})})
    created = scheduler.get_schedule(Name=f"every-{unique}", GroupName=f"group-{unique}")["CreationDate"].timestamp()
    local = LocalScheduler(lambda service: client(cloud, service))

    assert f"every-{unique}" not in local.tick(created + 299)  # not before one interval
    assert f"every-{unique}" in local.tick(created + 300)
    assert f"every-{unique}" not in local.tick(created + 301)  # once per interval
    assert f"every-{unique}" in local.tick(created + 601)
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 2
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"model": "m", "alias": "production"}

    scheduler.update_schedule(
        Name=f"every-{unique}", GroupName=f"group-{unique}", ScheduleExpression="rate(1 hour)", State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": machine, "RoleArn": ROLE_ARN})
    assert f"every-{unique}" not in local.tick(created + 100_000)


def test_rate_expressions_as_eventbridge_scheduler_writes_them():
    assert (rate_seconds("rate(1 minute)"), rate_seconds("rate(5 minutes)"), rate_seconds("rate(2 hours)"),
            rate_seconds("rate(1 day)")) == (60, 300, 7200, 86400)
    assert rate_seconds("cron(0 12 * * ? *)") is None and rate_seconds("at(2026-01-01T00:00:00)") is None
