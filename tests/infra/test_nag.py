"""cdk-nag: the synth fails on any unacknowledged finding (conftest's synth); here, each
acknowledgement has a specific reason and still matches something the templates grant."""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

_PSEUDO = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::URLSuffix"}


def spelled(value, stack: Stack) -> str:
    """A policy resource (or managed policy ARN) as cdk-nag spells it in a finding id."""
    if isinstance(value, str):
        return value
    (kind, arg), = value.items()
    if kind == "Ref":
        return f"<{arg}>"
    if kind == "Fn::GetAtt":
        return f"<{arg[0]}.{arg[1]}>"
    if kind == "Fn::ImportValue":
        return arg
    if kind == "Fn::Join":
        return arg[0].join(spelled(part, stack) for part in arg[1])
    if kind == "Fn::Sub" and isinstance(arg, str):
        return re.sub(r"\$\{([^}]+)\}", r"<\1>", arg)
    raise AssertionError(f"cannot spell {value}")


def granted(construct) -> dict[str, set[str]]:
    """`Resource::<spelled resource>` of every policy statement, and `Policy::<spelled ARN>`
    of every managed policy, in the construct and its children."""
    stack = Stack.of(construct)
    found: dict[str, set[str]] = {"IAM5": set(), "IAM4": set()}
    for child in construct.node.find_all():
        if isinstance(child, (iam.CfnPolicy, iam.CfnManagedPolicy)):
            for statement in stack.resolve(child.policy_document)["Statement"]:
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                found["IAM5"] |= {f"Resource::{spelled(r, stack)}" for r in resources}
                actions = statement.get("Action", [])
                found["IAM5"] |= {f"Action::{a}" for a in ([actions] if isinstance(actions, str) else actions) if "*" in a}
        if isinstance(child, iam.CfnRole):
            found["IAM4"] |= {f"Policy::{spelled(a, stack)}" for a in stack.resolve(child.managed_policy_arns) or []}
    return found


def test_every_acknowledgement_gives_a_specific_reason(platform):
    assert len(platform.acknowledgements) >= 20
    for ack in platform.acknowledgements:
        assert re.match(r"^AwsSolutions-[A-Z0-9]+(\[.+\])?$", ack.id), ack.id
        assert len(ack.reason) >= 40 and not ack.reason.lower().startswith(("todo", "n/a", "ok")), ack


def test_every_acknowledged_wildcard_or_managed_policy_is_still_there(platform):
    """An acknowledgement whose finding went away (a grant narrowed or removed) is stale."""
    checked = 0
    for ack in platform.acknowledgements:
        match = re.match(r"^AwsSolutions-(IAM[45])\[(.+)\]$", ack.id)
        if match is None:
            continue
        rule, finding = match.groups()
        assert finding in granted(ack.construct)[rule], f"stale: {ack.id} on {ack.construct.node.path}"
        checked += 1
    assert checked >= 20


def test_a_narrowed_grant_makes_its_acknowledgement_stale(platform):
    """The check above, checked: a finding id that the construct does not grant is not found."""
    role = platform.api.workflows.deploy_steps.role
    assert "Resource::*" in granted(role)["IAM5"]
    assert not {f for f in granted(role)["IAM5"] if "model/" in f}  # SageMaker models: the state machine's
