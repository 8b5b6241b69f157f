"""Per-model execution roles (issue 10, finding 2): one shared SageMaker role read every
model's artifacts and every dataset; each model's role now reaches only its own prefixes.

IAM matches resource ARNs with `*` (any characters, `/` included) and `?`; `fnmatchcase`
with `[` escaped matches them the same way.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.core import execution_scope
from functions.core.endpoints import endpoint_name
from functions.core.models import MODEL_NAME_RE

T = execution_scope.Targets(partition="aws", region="eu-west-1", account="123456789012", stage="dev",
                            artifacts_bucket="arts", datasets_bucket="data", captures_bucket="caps",
                            key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
                            repositories=("arn:aws:ecr:eu-west-1:123456789012:repository/modelport-cpu",))


def iam_match(pattern: str, arn: str) -> bool:
    return fnmatchcase(arn, pattern.replace("[", "[[]"))


def allowed(policy: dict, action: str, arn: str, prefix: str | None = None) -> bool:
    """Whether an Allow statement of `policy` grants `action` on `arn` (with `s3:prefix` for lists)."""
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if action not in actions or not any(iam_match(r, arn) for r in resources):
            continue
        condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if condition is not None and not (prefix is not None and any(iam_match(c, prefix) for c in condition)):
            continue
        return True
    return False


def policy_of(model: str, alias: str = "production") -> dict:
    return execution_scope.model_policy(T, model, datasets=f"datasets/{model}/",
                                        endpoints=(endpoint_name("dev", model, alias),),
                                        image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelport-cpu:1")


def test_a_model_reaches_its_own_prefixes():
    policy = policy_of("churn")
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::arts/models/churn/1.0.0/model.tar.gz")
    assert allowed(policy, "s3:PutObject", "arn:aws:s3:::arts/training/churn/job/output/model.tar.gz")
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::data/datasets/churn/2025/train.csv")
    assert allowed(policy, "s3:ListBucket", "arn:aws:s3:::data", prefix="datasets/churn/2025/train.csv")
    capture = f"arn:aws:s3:::caps/{endpoint_name('dev', 'churn', 'production')}/AllTraffic/2025/01/01/00/x.jsonl"
    assert allowed(policy, "s3:PutObject", capture)
    assert allowed(policy, "ecr:BatchGetImage", "arn:aws:ecr:eu-west-1:123456789012:repository/modelport-cpu")
    assert allowed(policy, "kms:Decrypt", T.key_arn)


def test_a_model_does_not_reach_another_models_prefixes():
    policy = policy_of("churn")
    for other in ("churn-x", "churnx", "x", "churn0"):
        assert not allowed(policy, "s3:GetObject", f"arn:aws:s3:::arts/models/{other}/1.0.0/model.tar.gz"), other
        assert not allowed(policy, "s3:GetObject", f"arn:aws:s3:::arts/training/{other}/j/output/model.tar.gz")
        assert not allowed(policy, "s3:GetObject", f"arn:aws:s3:::data/datasets/{other}/train.csv"), other
        assert not allowed(policy, "s3:ListBucket", "arn:aws:s3:::data", prefix=f"datasets/{other}/")
        assert not allowed(policy, "s3:PutObject",
                           f"arn:aws:s3:::caps/{endpoint_name('dev', other, 'production')}/AllTraffic/x.jsonl")
    assert not allowed(policy, "s3:ListBucket", "arn:aws:s3:::data")  # no listing without the prefix
    assert not allowed(policy, "s3:PutObject", "arn:aws:s3:::arts/models/churn/1.0.0/model.tar.gz")  # read only
    assert not allowed(policy, "ecr:BatchGetImage", "arn:aws:ecr:eu-west-1:123456789012:repository/modelport-gpu")


@settings(max_examples=200, deadline=None)
@given(st.from_regex(MODEL_NAME_RE, fullmatch=True), st.from_regex(MODEL_NAME_RE, fullmatch=True))
def test_no_model_name_reaches_another_models_objects(mine, theirs):
    if mine == theirs:
        return
    policy = policy_of(mine)
    for arn in (f"arn:aws:s3:::arts/models/{theirs}/1.0.0/model.tar.gz", f"arn:aws:s3:::data/datasets/{theirs}/a.csv",
                f"arn:aws:s3:::caps/{endpoint_name('dev', theirs, 'production')}/AllTraffic/a.jsonl"):
        assert not allowed(policy, "s3:GetObject", arn) and not allowed(policy, "s3:PutObject", arn)


def test_every_grant_of_a_model_lies_within_the_boundary():
    boundary = execution_scope.boundary_policy(T)
    policy = policy_of("churn")
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                sample = resource.replace("*", "x")
                prefix = "datasets/churn/x" if action == "s3:ListBucket" else None
                assert allowed(boundary, action, sample, prefix), (action, resource)
    # and the boundary is no wider than the shared role was: nothing outside the platform's prefixes
    assert not allowed(boundary, "s3:GetObject", "arn:aws:s3:::arts/elsewhere/x")
    assert not allowed(boundary, "s3:PutObject", "arn:aws:s3:::arts/models/churn/x")


def test_role_names_are_unambiguous_and_fit():
    assert execution_scope.role_name("dev", "churn") == "mp-dev-churn"
    assert execution_scope.role_name("dev", "churn-x") != execution_scope.role_name("dev", "churn")
    long = execution_scope.role_name("production", "m" * 48 + "x" * 10)
    assert len(long) <= 64 and re.fullmatch(r"[\w+=,.@-]+", long)
    assert execution_scope.role_path("dev") == "/modelport/dev/"
    trust = execution_scope.trust_policy("123456789012")["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert execution_scope.repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:2") == (
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/model")
    assert execution_scope.repository_arn("docker.io/library/python:3") is None
