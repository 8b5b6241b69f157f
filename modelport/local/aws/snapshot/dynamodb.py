"""DynamoDB tables (schema and TTL) to and from a snapshot, through the DynamoDB API.

Items are the journal's (`modelport.local.aws.journal.dynamodb_state`); `restore` still
reads the items of a format-1 snapshot, written before the journal existed.
"""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError

_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


def _decode(value: dict) -> dict:
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: _decode(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_decode(v) for v in inner]}
    return value


def tables(client: Any) -> list[dict]:
    """Every table's CreateTable arguments and TTL setting (no items)."""
    found = []
    for page in client.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            table = client.describe_table(TableName=name)["Table"]
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            found.append({"create": _create_args(table), "ttl": ttl})
    return found


def _create_args(table: dict) -> dict:
    args: dict[str, Any] = {
        "TableName": table["TableName"],
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": table["AttributeDefinitions"],
    }
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST")
    args["BillingMode"] = billing
    throughput = {
        "ReadCapacityUnits": table.get("ProvisionedThroughput", {}).get("ReadCapacityUnits") or 1,
        "WriteCapacityUnits": table.get("ProvisionedThroughput", {}).get("WriteCapacityUnits")
        or 1,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = throughput
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if table.get(kind):
            indexes = [{k: index[k] for k in _INDEX_KEYS} for index in table[kind]]
            if billing == "PROVISIONED" and kind == "GlobalSecondaryIndexes":
                for index in indexes:
                    index["ProvisionedThroughput"] = throughput
            args[kind] = indexes
    stream = table.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        args["StreamSpecification"] = stream
    return args


def restore(client: Any, tables: list[dict]) -> None:
    for table in tables:
        name = table["create"]["TableName"]
        try:
            client.create_table(**table["create"])
        except ClientError as exc:
            # Already created (e.g. from the platform's definitions): only the data is missing.
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        ttl = table.get("ttl") or {}
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            try:
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ValidationException":  # already enabled
                    raise
        items = table.get("items") or []
        for start in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": {k: _decode(v) for k, v in item.items()}}}
                for item in items[start : start + 25]
            ]
            pending: dict = {name: requests}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
