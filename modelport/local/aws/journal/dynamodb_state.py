"""DynamoDB items as after-images: which items a request changed, their state now, and
putting that state back into moto.

An image is `{"t": "ddb", "table": name, "key": {attr: value}, "item": attributes | None}`
in DynamoDB JSON (binary values base64, as on the wire). Applying an image sets the item
to exactly that state, so applying it twice, or applying one that a snapshot already
holds, changes nothing: replay needs no knowledge of what the request did.

This module reads moto's in-memory tables directly (the only place, with its siblings,
that knows moto's internals); tables are looked up by name every time, because moto
replaces a table object with a copy when it undoes a cancelled transaction.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

#: item-level writes and where their keys are in the request.
ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
#: table-level writes, journaled as requests and replayed through moto.
TABLE_WRITES = frozenset({
    "CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive", "TagResource", "UntagResource",
    "UpdateContinuousBackups", "UpdateTableReplicaAutoScaling", "PutResourcePolicy", "DeleteResourcePolicy",
    "EnableKinesisStreamingDestination", "DisableKinesisStreamingDestination",
})  # fmt: skip
READS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet")


def backend(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def table_name(name: str) -> str:
    """A table name or ARN (`arn:aws:dynamodb:...:table/<name>`) → the name."""
    return name.rsplit("table/", 1)[-1] if name.startswith("arn:") else name


def changed_keys(operation: str, request: dict) -> Iterator[tuple[str, dict]]:
    """(table, item or key attributes) of every item an item-level write may have changed."""
    if operation == "PutItem":
        yield table_name(request["TableName"]), request["Item"]
    elif operation in ("UpdateItem", "DeleteItem"):
        yield table_name(request["TableName"]), request["Key"]
    elif operation == "BatchWriteItem":
        for name, writes in (request.get("RequestItems") or {}).items():
            for write in writes:
                if "PutRequest" in write:
                    yield table_name(name), write["PutRequest"]["Item"]
                elif "DeleteRequest" in write:
                    yield table_name(name), write["DeleteRequest"]["Key"]
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete"):
                if kind in entry:
                    body = entry[kind]
                    yield table_name(body["TableName"]), body["Item" if kind == "Put" else "Key"]


def _key_of(table: Any, attributes: dict) -> dict:
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


def _find(table: Any, key: dict) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    # not table.get_item: its defaultdict lookup would leave an empty partition behind
    partition = table.items.get(DynamoType(key[table.hash_key_attr]))
    if partition is None:
        return None
    if table.range_key_attr is None:
        return partition
    return partition.get(DynamoType(key[table.range_key_attr]))


def _wire(value: Any) -> Any:
    """Attributes as DynamoDB JSON: moto may hold binary values as bytes."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def item_json(item: Any) -> dict:
    return _wire(item.to_json()["Attributes"])


def image(account: str, region: str, name: str, attributes: dict) -> dict | None:
    """The after-image of one item (None when the table does not exist)."""
    table = backend(account, region).tables.get(name)
    if table is None:
        return None
    key = _key_of(table, attributes)
    item = _find(table, key)
    return {"t": "ddb", "table": name, "key": key, "item": item_json(item) if item is not None else None}


def apply(account: str, region: str, entry: dict) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    table = backend(account, region).tables.get(entry["table"])
    if table is None:
        log.warning("journal: item of table %s, which no longer exists, skipped", entry["table"])
        return
    key = entry["key"]
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    if entry["item"] is None:
        if range_value is None:
            table.items.pop(hash_value, None)
        else:
            partition = table.items.get(hash_value)
            if partition is not None:
                partition.pop(range_value, None)
                if not partition:
                    table.items.pop(hash_value, None)
        return
    item = Item(hash_value, range_value, entry["item"])
    if range_value is None:
        table.items[hash_value] = item
    else:
        table.items[hash_value][range_value] = item


def table_items(account: str, region: str, name: str) -> list[Any]:
    """The item objects of a table now (serialise them while writes are held off)."""
    table = backend(account, region).tables.get(name)
    return list(table.all_items()) if table is not None else []


def table_names(account: str, region: str) -> list[str]:
    return list(backend(account, region).tables)
