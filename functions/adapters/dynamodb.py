"""DynamoDB adapter: the metadata store (single table) and the audit log.

Records are stored as their JSON body (`data`) next to their keys, their `kind`, their
listing-index keys and, on chain-head items, `chain_seq`/`chain_hash`. Reads are one
GetItem or one Query; `commit` is one TransactWriteItems.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import ValidationError

from functions.adapters.schema import LIST_INDEX, PK, SK
from functions.core.audit import GENESIS, AuditEvent, ChainHead
from functions.core.errors import ConcurrentModification, DomainError, InvalidInput
from functions.core.mutations import Delete, UnitOfWork
from functions.core.periods import time_key
from functions.core.records import ItemKey, Page, Record

R = TypeVar("R", bound=Record)
GSI_PK, GSI_SK = LIST_INDEX.keys.partition, LIST_INDEX.keys.sort
_EVENT_FIELDS = ("actor", "action", "target", "request_id", "time", "details", "digest", "prev_hash", "hash")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(key: ItemKey) -> dict[str, Any]:
    return {PK: _s(key.pk), SK: _s(key.sk)}


def chain_pk(chain: str) -> str:
    return f"CHAIN#{chain}"


def event_sk(seq: int) -> str:
    return f"{seq:012d}"


class DynamoStore:
    """Implements `MetadataStore` and `AuditLog` with a low-level boto3 DynamoDB client."""

    def __init__(self, client: Any, table: str, audit_table: str) -> None:
        self._db = client
        self._table = table
        self._audit = audit_table

    # --- reads ----------------------------------------------------------------------------

    def get(self, key: ItemKey, cls: type[R], *, consistent: bool = False) -> R | None:
        item = self._db.get_item(TableName=self._table, Key=_key(key), ConsistentRead=consistent).get("Item")
        return _record(item, cls) if item else None

    def read_head(self, chain: str, key: ItemKey, cls: type[R]) -> tuple[R | None, ChainHead]:
        item = self._db.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item") or {}
        head = ChainHead(
            chain=chain,
            key=key,
            seq=int(item["chain_seq"]["N"]) if "chain_seq" in item else 0,
            hash=item["chain_hash"]["S"] if "chain_hash" in item else GENESIS,
        )
        return (_record(item, cls) if "data" in item else None), head

    def query(
        self,
        pk: str,
        cls: type[R],
        *,
        prefix: str = "",
        limit: int = 50,
        newest_first: bool = False,
        cursor: str | None = None,
        consistent: bool = False,
        at_most: str | None = None,
    ) -> Page[R]:
        names = {"#pk": PK}
        values: dict[str, Any] = {":pk": _s(pk)}
        condition = "#pk = :pk"
        if at_most is not None:
            # every key between two strings that share `prefix` shares it too
            if not at_most.startswith(prefix):
                raise ValueError("at_most must start with the prefix")
            names["#sk"] = SK
            values[":prefix"], values[":at_most"] = _s(prefix), _s(at_most)
            condition += " AND #sk BETWEEN :prefix AND :at_most"
        elif prefix:
            names["#sk"] = SK
            values[":prefix"] = _s(prefix)
            condition += " AND begins_with(#sk, :prefix)"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": consistent,
            # One more than asked tells whether another page exists, without a second request.
            "Limit": limit + 1,
        }
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, {PK: pk}, (SK,), prefix)
        items = self._db.query(**kwargs)["Items"]
        return _page(items, cls, limit, (PK, SK))

    def list_index(
        self, index_pk: str, cls: type[R], *, limit: int = 50, cursor: str | None = None, prefix: str = ""
    ) -> Page[R]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LIST_INDEX.name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": GSI_PK},
            "ExpressionAttributeValues": {":pk": _s(index_pk)},
            "Limit": limit + 1,
        }
        if prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(#sk, :prefix)"
            kwargs["ExpressionAttributeNames"]["#sk"] = GSI_SK
            kwargs["ExpressionAttributeValues"][":prefix"] = _s(prefix)
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, {GSI_PK: index_pk}, (GSI_SK, PK, SK), prefix,
                                                         prefixed=GSI_SK)
        items = self._db.query(**kwargs)["Items"]
        return _page(items, cls, limit, (GSI_PK, GSI_SK, PK, SK))

    def touch(self, key: ItemKey, field: str, value: datetime, *, unless_after: datetime) -> bool:
        """One conditional UpdateItem: set the sampled attribute `field` to `value` unless the
        item is gone or its sample is newer than `unless_after`; False when it did not write."""
        try:
            self._db.update_item(
                TableName=self._table, Key=_key(key),
                UpdateExpression="SET #f = :v",
                ConditionExpression="attribute_exists(#pk) AND (attribute_not_exists(#f) OR #f <= :cutoff)",
                ExpressionAttributeNames={"#f": field, "#pk": PK},
                ExpressionAttributeValues={":v": _s(time_key(value)), ":cutoff": _s(time_key(unless_after))},
            )  # fmt: skip
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- the transaction ------------------------------------------------------------------

    def commit(self, uow: UnitOfWork) -> None:
        head, event = uow.head, uow.event
        chain_values = {":seq_new": {"N": str(event.seq)}, ":hash_new": _s(event.hash)}
        head_condition, head_values = (
            ("attribute_not_exists(chain_seq)", {})
            if head.seq == 0
            else ("chain_seq = :seq_read", {":seq_read": {"N": str(head.seq)}})
        )
        items: list[dict[str, Any]] = []
        #: per transact item, the error its failed condition means (None: the head moved, or
        #: an item without a condition).
        meaning: list[DomainError | None] = []
        head_written = False
        #: what a failed head condition means: a new chain whose head item exists is that
        #: item's if_absent (e.g. ModelExists); otherwise the head moved.
        head_meaning: DomainError | None = None
        for write in uow.writes:
            if isinstance(write, Delete):
                items.append({"Delete": {"TableName": self._table, "Key": _key(write.key)}})
                meaning.append(None)
                continue
            put: dict[str, Any] = {"TableName": self._table, "Item": _item(write.record)}
            if write.record.key == head.key:
                head_written = True
                put["Item"]["chain_seq"] = chain_values[":seq_new"]
                put["Item"]["chain_hash"] = chain_values[":hash_new"]
                if head.seq == 0:
                    put["ConditionExpression"] = "attribute_not_exists(PK)"
                else:
                    put["ConditionExpression"] = head_condition
                    put["ExpressionAttributeValues"] = head_values
                head_meaning = write.if_absent if head.seq == 0 else None
                meaning.append(head_meaning)
            elif write.if_absent is not None:
                put["ConditionExpression"] = "attribute_not_exists(PK)"
                meaning.append(write.if_absent)
            else:
                meaning.append(None)
            items.append({"Put": put})
        if not head_written:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(head.key),
                        "UpdateExpression": "SET chain_seq = :seq_new, chain_hash = :hash_new",
                        "ConditionExpression": head_condition,
                        "ExpressionAttributeValues": {**chain_values, **head_values},
                    }
                }
            )
            meaning.append(None)
        items.append(
            {
                "Put": {
                    "TableName": self._audit,
                    "Item": _event_item(event),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        meaning.append(head_meaning)  # the event slot is taken exactly when the head moved
        try:
            # The token makes an SDK retry of a transaction that did commit a no-op success.
            self._db.transact_write_items(
                TransactItems=items, ClientRequestToken=str(uuid.UUID(event.hash[:32]))
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            failed = [
                why
                for reason, why in zip(error.response.get("CancellationReasons") or [], meaning)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            # A moved head wins: re-running the use case re-reads (a bump then picks the next
            # free version); only against a fresh head is an existing item a real conflict.
            if failed and all(why is not None for why in failed):
                raise failed[0] from None
            raise ConcurrentModification(
                f"another change to {head.chain!r} was written first; retry"
            ) from None

    # --- audit log ------------------------------------------------------------------------

    def events(
        self, chain: str, *, limit: int = 50, cursor: str | None = None, newest_first: bool = True
    ) -> Page[AuditEvent]:
        kwargs: dict[str, Any] = {
            "TableName": self._audit,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":pk": _s(chain_pk(chain))},
            "ScanIndexForward": not newest_first,
            "Limit": limit + 1,
        }
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, {PK: chain_pk(chain)}, (SK,), "")
        items = self._db.query(**kwargs)["Items"]
        events = [_event(chain, item) for item in items[:limit]]
        more = len(items) > limit
        return Page(events, _encode_cursor(items[limit - 1], (PK, SK)) if more else None)

    def all_events(self, chain: str) -> Iterator[AuditEvent]:
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._audit,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": _s(chain_pk(chain))},
            ConsistentRead=True,
        ):
            for item in page["Items"]:
                yield _event(chain, item)


# --- items ------------------------------------------------------------------------------


def _item(record: Record) -> dict[str, Any]:
    key = record.key
    item = {PK: _s(key.pk), SK: _s(key.sk), "kind": _s(record.KIND), "data": _s(record.model_dump_json())}
    for name in getattr(record, "SAMPLED", ()):  # a Put keeps a sampled attribute (see `touch`)
        value = getattr(record, name)
        if value is not None:
            item[name] = _s(time_key(value))
    index = record.index_keys()
    if index is not None:
        item[GSI_PK], item[GSI_SK] = _s(index.pk), _s(index.sk)
    return item


def _record(item: dict[str, Any], cls: type[R]) -> R:
    sampled = [name for name in getattr(cls, "SAMPLED", ()) if name in item]
    if not sampled:
        return cls.model_validate_json(item["data"]["S"])
    data = json.loads(item["data"]["S"])
    data.update({name: item[name]["S"] for name in sampled})  # the attribute is the newer sample
    return cls.model_validate(data)


def _event_item(event: AuditEvent) -> dict[str, Any]:
    item = {PK: _s(chain_pk(event.chain)), SK: _s(event_sk(event.seq))}
    for name in _EVENT_FIELDS:
        value = getattr(event, name)
        item[name] = _s(value if isinstance(value, str) else value.isoformat())
    return item


def _event(chain: str, item: dict[str, Any]) -> AuditEvent:
    """Rebuild an event as stored; a damaged item still yields an event, which then fails verify."""
    fields = {name: item.get(name, {}).get("S", "") for name in _EVENT_FIELDS}
    fields["time"] = fields["time"] or "1970-01-01T00:00:00+00:00"
    try:
        seq = int(item[SK]["S"])
    except (KeyError, ValueError):
        seq = -1
    try:
        return AuditEvent(chain=chain, seq=seq, **fields)
    except ValidationError:
        # Keep the damaged values as stored: their hash cannot match, so verify names the event.
        return AuditEvent.model_construct(chain=chain, seq=seq, **fields)


def _page(items: list[dict[str, Any]], cls: type[R], limit: int, key_names: tuple[str, ...]) -> Page[R]:
    records = [_record(item, cls) for item in items[:limit]]
    more = len(items) > limit
    return Page(records, _encode_cursor(items[limit - 1], key_names) if more else None)


def _encode_cursor(item: dict[str, Any], key_names: tuple[str, ...]) -> str:
    raw = json.dumps({name: item[name]["S"] for name in key_names}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(
    cursor: str, fixed: dict[str, str], free: tuple[str, ...], prefix: str, *, prefixed: str = SK
) -> dict[str, Any]:
    """The ExclusiveStartKey in `cursor`, which must stay within the partition being listed."""
    bad = InvalidInput("the cursor is not valid for this listing", [{"path": "cursor", "message": "invalid cursor"}])
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise bad from None
    expected = set(fixed) | set(free)
    if not isinstance(decoded, dict) or set(decoded) != expected:
        raise bad
    if not all(isinstance(v, str) and v for v in decoded.values()):
        raise bad
    if any(decoded[name] != value for name, value in fixed.items()):
        raise bad
    if prefix and not decoded[prefixed].startswith(prefix):
        raise bad
    return {name: _s(value) for name, value in decoded.items()}
