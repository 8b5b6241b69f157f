"""DynamoDB transactions whose cost does not grow with the table.

moto 5 makes a transaction undoable by deep-copying every table it touches before it
starts: with 10,000 versions in the metadata table one control-plane change (one
TransactWriteItems) took over a second, and every change costs more as the registry
grows (`benchmarks.durability`). This replacement keeps moto's semantics and errors (the
same checks, the same item operations, the same cancellation reasons) but saves only the
items the transaction touches, and puts those back when it is cancelled. The durable
layer serves DynamoDB requests one at a time, so nothing else can change those items
while a transaction runs.
"""

from __future__ import annotations

import copy
from typing import Any


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """`DynamoDBBackend.transact_write_items`, with item-level undo."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    saved: dict[tuple[str, str], tuple[Any, dict[str, Any], Any]] = {}

    def save(table_name: str, key: dict[str, Any]) -> None:
        identity = (str(table_name), str(dict(sorted(key.items()))))
        if identity not in saved and table_name in self.tables:
            current = self.get_item(table_name, key)
            saved[identity] = (table_name, key, copy.deepcopy(current) if current is not None else None)

    def undo() -> None:
        for table_name, key, item in saved.values():
            table = self.tables.get(table_name)
            if table is None:
                continue
            hash_value = _typed(key[table.hash_key_attr])
            range_value = _typed(key[table.range_key_attr]) if table.range_key_attr is not None else None
            if item is None:
                table.delete_item(hash_value, range_value)
            elif range_value is None:
                table.items[hash_value] = item
            else:
                table.items[hash_value][range_value] = item

    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for entry in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(entry.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            identity = (str(table_name), str(dict(sorted(key.items()))))
            if identity in target_items:
                raise MultipleTransactionsException()
            target_items.add(identity)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                save(table_name, key)
            if op_type == "Put":
                self.put_item(table_name, op["Item"], condition_expression=condition_expression,
                              expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key, condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - moto reports every other failure as a cancellation reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]
    if any(code is not None for code, _, _ in errors):
        undo()
        raise TransactionCanceledException(errors)


def _typed(value: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType(value)


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend.transact_write_items, "_modelport_hook", False):
        return
    transact_write_items._modelport_hook = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
