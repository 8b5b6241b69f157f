"""Least-privilege grants shared by the Api and Workflows stacks (the parent does the grants)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

#: what `DynamoStore` reads with: one GetItem or one Query (DESIGN §3).
TABLE_READ = ("dynamodb:GetItem", "dynamodb:Query")
#: the items of `DynamoStore.commit`'s TransactWriteItems (Put, Update, Delete) and the
#: Powertools idempotency records (put, update, delete).
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
#: the audit table is append-only: no UpdateItem, no DeleteItem for anyone.
AUDIT_APPEND = ("dynamodb:PutItem",)


def grant_key(principal: iam.IGrantable, key: kms.IKey, *, write: bool) -> None:
    """The KMS calls that DynamoDB, S3 and SQS make with the caller's rights, named one by one."""
    actions = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey") if write else ("kms:Decrypt",)
    key.grant(principal, *actions)


def grant_table(
    principal: iam.IGrantable,
    table: dynamodb.ITable,
    key: kms.IKey,
    *actions: str,
    indexes: tuple[str, ...] = (),
) -> None:
    """Item-level `actions` on a table and its named indexes (those the grantee queries),
    plus the KMS use its encryption needs (writing when any action writes)."""
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(actions),
            resources=[table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes)],
        )
    )
    grant_key(principal, key, write=any(a not in TABLE_READ for a in actions))


def grant_item_update(
    principal: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey, *, partition_prefix: str
) -> None:
    """`UpdateItem` only of items whose partition key starts with `partition_prefix`
    (`dynamodb:LeadingKeys`): the authorizer's sampled `last_used_at` of `KEY#` items."""
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["dynamodb:UpdateItem"],
            resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{partition_prefix}*"]}},
        )
    )
    grant_key(principal, key, write=True)


def grant_objects(principal: iam.IGrantable, bucket: s3.IBucket, pattern: str, *actions: str) -> None:
    """Object rights (`s3:GetObject`, `s3:PutObject`, ...) under one key pattern of a bucket."""
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(pattern)])
    )


def grant_list(principal: iam.IGrantable, bucket: s3.IBucket, prefix: str) -> None:
    """`s3:ListBucket` limited to one prefix (SageMaker lists `S3Prefix` channels)."""
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        )
    )


def sagemaker_arns(stack: Stack, prefix: str, *resource_types: str) -> list[str]:
    """ARNs of the platform's SageMaker resources (all named `<prefix>...`, contracts.md)."""
    return [
        stack.format_arn(service="sagemaker", resource=resource_type, resource_name=f"{prefix}*")
        for resource_type in resource_types
    ]


def grant_authorizer_cache_flush(principal: iam.IGrantable, stack: Stack, rest_api_id: str, stage: str) -> None:
    """`FlushStageAuthorizersCache` (DELETE .../cache/authorizers) on the platform's API stage."""
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["apigateway:DELETE"],
            resources=[
                (
                    f"arn:{stack.partition}:apigateway:{stack.region}::/restapis/{rest_api_id}"
                    f"/stages/{stage}/cache/authorizers"
                )
            ],
        )
    )
