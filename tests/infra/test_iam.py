"""IAM: no `*` actions, and each Lambda role grants exactly what its code calls on AWS.

`tests/infra/callgraph.py` follows each handler's code to the boto3 calls it can make;
`tests/infra/iam_map.py` turns them into IAM actions. The checks below compare those with
the synthesized roles both ways, and check the checker itself on doctored templates.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.infra.conftest import policy_statements
from tests.infra.iam_map import RUNTIME, required_actions, role_problems

#: every Lambda of docs/contracts.md, by handler
HANDLERS = {
    "functions.auth.handler.lambda_handler",
    "functions.registry.handler.lambda_handler",
    "functions.versioning.handler.lambda_handler",
    "functions.keys.handler.lambda_handler",
    "functions.audit.handler.lambda_handler",
    "functions.deployments.handler.lambda_handler",
    "functions.retraining.handler.lambda_handler",
    "functions.workflows.deploy_steps.lambda_handler",
    "functions.workflows.retrain_steps.lambda_handler",
    "functions.workflows.trigger.lambda_handler",
    "functions.monitoring.handler.lambda_handler",
    "functions.monitoring.steps.lambda_handler",
    "functions.monitoring.indexer.lambda_handler",
}


def _actions(statement: dict) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else actions


def lambda_roles(template: dict) -> dict[str, dict]:
    """handler → {role, granted, runtime, statements} for each platform Lambda of a template (JSON)."""
    resources = template["Resources"]
    roles = {}
    for logical_id, function in resources.items():
        props = function["Properties"] if function["Type"] == "AWS::Lambda::Function" else {}
        if not props.get("Handler", "").startswith("functions."):
            continue
        role = props["Role"]["Fn::GetAtt"][0]
        statements = [
            s for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        ]  # fmt: skip
        runtime = set()
        if "LogGroup" in props.get("LoggingConfig", {}):
            runtime |= set(RUNTIME["logs"])
        if props.get("TracingConfig", {}).get("Mode") == "Active":
            runtime |= set(RUNTIME["tracing"])
        if any(r["Type"] == "AWS::Lambda::EventSourceMapping" and r["Properties"]["FunctionName"] == {"Ref": logical_id}
               for r in resources.values()):  # fmt: skip
            runtime |= set(RUNTIME["sqs"])
        roles[props["Handler"]] = {
            "role": role, "statements": statements, "runtime": runtime,
            "granted": {a for s in statements if s.get("Effect", "Allow") == "Allow" for a in _actions(s)},
        }  # fmt: skip
    return roles


@pytest.fixture(scope="module")
def template_json(templates) -> dict[str, dict]:
    return {name: templates[name].to_json() for name in ("api", "workflows")}


@pytest.fixture(scope="module")
def roles(template_json) -> dict[str, dict]:
    return {**lambda_roles(template_json["api"]), **lambda_roles(template_json["workflows"])}


def test_no_wildcard_actions(templates):
    for stack, policy, statement in policy_statements(templates):
        for action in _actions(statement):
            assert action != "*" and not action.endswith(":*"), (stack, policy, action)


def test_data_actions_are_never_granted_on_every_resource(templates):
    for stack, policy, statement in policy_statements(templates):
        if statement.get("Resource") == "*":
            data = [a for a in _actions(statement) if a.split(":")[0] in ("s3", "dynamodb", "kms", "sqs", "sagemaker")]
            assert not data, (stack, policy, data)


def test_every_lambda_of_the_contract_is_checked(roles):
    assert set(roles) == HANDLERS


def test_each_lambda_role_grants_exactly_what_its_code_calls(roles):
    problems = [p for handler, role in roles.items() for p in role_problems(handler, role["granted"], role["runtime"])]
    assert not problems, "\n".join(problems)


# --- the checker, checked -------------------------------------------------------------------


def _without(template: dict, role: str, action: str) -> dict:
    """A copy of a synthesized template whose policies on `role` no longer grant `action`."""
    doctored = copy.deepcopy(template)
    for resource in doctored["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                statement["Action"] = [a for a in _actions(statement) if a != action]
    return doctored


def test_removing_any_needed_grant_from_a_synthesized_policy_is_flagged(template_json, roles):
    checked = 0
    for template in template_json.values():
        for handler, role in lambda_roles(template).items():
            for action in required_actions(handler):
                doctored = lambda_roles(_without(template, role["role"], action))[handler]
                assert action not in doctored["granted"]
                problems = role_problems(handler, doctored["granted"], doctored["runtime"])
                assert any(f"lacks {action}," in p for p in problems), (handler, action, problems)
                checked += 1
    assert checked >= 60  # every needed action of every Lambda, each removed once


def test_an_extra_grant_is_flagged(roles):
    trigger = roles["functions.workflows.trigger.lambda_handler"]
    problems = role_problems("functions.workflows.trigger.lambda_handler", trigger["granted"] | {"s3:DeleteObject"},
                             trigger["runtime"])  # fmt: skip
    assert problems == [
        "functions.workflows.trigger.lambda_handler: the role grants s3:DeleteObject, which no call of its code needs"
    ]


def test_the_grants_the_workflows_need_are_found_in_their_code():
    """The findings that were missing from the roles before the checker could fail."""
    deploy = required_actions("functions.workflows.deploy_steps.lambda_handler")
    assert "application-autoscaling:DeleteScalingPolicy" in deploy  # lifting autoscaling
    assert {"s3:GetObject", "kms:Decrypt"} <= set(deploy)  # verifying the artifact (HEAD + checksum)
    assert "cloudwatch:PutMetricAlarm" in deploy  # signing name `monitoring`
    assert "apigateway:DELETE" in deploy  # FlushStageAuthorizersCache
    retrain = required_actions("functions.workflows.retrain_steps.lambda_handler")
    assert {"s3:GetObject", "s3:PutObject", "kms:GenerateDataKey", "states:StartExecution"} <= set(retrain)
    assert any("copy_object" in why for why in retrain["s3:PutObject"])
    trigger = required_actions("functions.workflows.trigger.lambda_handler")
    assert {"s3:GetObjectVersion", "states:StartExecution"} <= set(trigger)
    assert any("put_object" in why for why in required_actions("functions.retraining.handler.lambda_handler")["s3:PutObject"])
    assert "states:StartExecution" in required_actions("functions.deployments.handler.lambda_handler")
    # revoking a key flushes the authorizer cache; submitting a version verifies its upload
    assert "apigateway:DELETE" in required_actions("functions.keys.handler.lambda_handler")
    assert "s3:GetObject" in required_actions("functions.versioning.handler.lambda_handler")


def test_the_authorizer_reads_and_only_samples_key_usage(roles, templates):
    """It reads, and writes only a key's sampled `last_used_at`: UpdateItem of KEY# items."""
    handler = "functions.auth.handler.lambda_handler"
    wanted = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "kms:Decrypt", "kms:Encrypt",
              "kms:GenerateDataKey"}
    assert set(required_actions(handler)) == wanted
    assert roles[handler]["granted"] - roles[handler]["runtime"] == wanted
    updates = [st for _, _, st in policy_statements(templates) if "dynamodb:UpdateItem" in _actions(st)
               and "Condition" in st]
    assert [st["Condition"] for st in updates] == [
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["KEY#*"]}}]


# --- resources: each object grant on the one prefix its code uses --------------------------

#: contract name → {(bucket, key pattern): actions}, from what each Lambda's code reads and writes
OBJECTS = {
    "functions.registry.handler.lambda_handler": {("Artifacts", "models/*"): {"s3:PutObject"}},  # presigned uploads
    "functions.versioning.handler.lambda_handler": {("Artifacts", "models/*"): {"s3:GetObject"}},  # verify on submit
    "functions.retraining.handler.lambda_handler": {("Datasets", "datasets/*"): {"s3:PutObject"}},  # presigned uploads
    "functions.workflows.deploy_steps.lambda_handler": {("Artifacts", "models/*"): {"s3:GetObject"}},
    "functions.workflows.retrain_steps.lambda_handler": {
        ("Artifacts", "training/*"): {"s3:GetObject"},  # evaluate the output, copy source
        ("Artifacts", "models/*"): {"s3:GetObject", "s3:PutObject"},  # copy target, verify
    },
    "functions.workflows.trigger.lambda_handler": {("Datasets", "datasets/*"): {"s3:GetObject", "s3:GetObjectVersion"}},
    "functions.monitoring.handler.lambda_handler": {("Captures", "monitoring/*"): {"s3:GetObject"}},  # reports
    "functions.monitoring.steps.lambda_handler": {
        ("Captures", ""): {"s3:ListBucket"},  # the window's capture files (prefix-conditioned)
        ("Captures", "monitoring/*"): {"s3:GetObject", "s3:PutObject"},  # job inputs, summary, window copy
        ("Datasets", "datasets/*"): {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"},  # retrain dataset
    },
    "functions.monitoring.indexer.lambda_handler": {("Captures", "mp-dev-*"): {"s3:GetObject"}},  # capture files
}


def test_object_grants_cover_only_the_prefixes_the_code_uses(roles):
    for handler, role in roles.items():
        found: dict[tuple[str, str], set[str]] = {}
        for statement in role["statements"]:
            actions = {a for a in _actions(statement) if a.startswith("s3:")}
            if not actions:
                continue
            for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
                text = json.dumps(resource)
                bucket = next(b for b in ("Artifacts", "Datasets", "Captures") if f"{b}Bucket" in text)
                # `<bucket ARN>/<pattern>` is a join; the bucket ARN alone is bucket-level
                pattern = resource["Fn::Join"][1][-1].lstrip("/") if "Fn::Join" in resource else ""
                found.setdefault((bucket, pattern), set()).update(actions)
        assert found == OBJECTS.get(handler, {}), handler


def test_only_the_audit_lambda_reads_the_audit_table_and_writers_only_append(roles):
    for handler, role in roles.items():
        on_audit = {a for s in role["statements"] if "AuditTable" in json.dumps(s["Resource"]) for a in _actions(s)}
        if handler == "functions.audit.handler.lambda_handler":
            assert on_audit == {"dynamodb:GetItem", "dynamodb:Query"}
        else:
            assert on_audit <= {"dynamodb:PutItem"}, handler
