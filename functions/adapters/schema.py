"""The one description of Modelport's DynamoDB tables (DESIGN.md §3).

Used by the CDK data stack, by `modelport local` and by the tests' moto fixtures, so that
keys, the listing index and the TTL attribute cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KeySchema:
    partition: str
    sort: str


@dataclass(frozen=True)
class Index:
    name: str
    keys: KeySchema
    projection: str = "ALL"


@dataclass(frozen=True)
class TableSchema:
    keys: KeySchema
    indexes: tuple[Index, ...] = field(default_factory=tuple)
    #: attribute holding the epoch-seconds expiry of an item (DynamoDB TTL), if any.
    ttl_attribute: str | None = None

    def attributes(self) -> list[str]:
        """Every key attribute (all strings), table and indexes."""
        names = [self.keys.partition, self.keys.sort]
        for index in self.indexes:
            names += [index.keys.partition, index.keys.sort]
        return list(dict.fromkeys(names))

    def create_table_kwargs(self, name: str) -> dict[str, Any]:
        """Arguments of boto3 `create_table` (on-demand billing)."""
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in self.attributes()],
            "KeySchema": _key_schema(self.keys),
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {"IndexName": i.name, "KeySchema": _key_schema(i.keys), "Projection": {"ProjectionType": i.projection}}
                for i in self.indexes
            ]
        return kwargs


def _key_schema(keys: KeySchema) -> list[dict[str, str]]:
    return [
        {"AttributeName": keys.partition, "KeyType": "HASH"},
        {"AttributeName": keys.sort, "KeyType": "RANGE"},
    ]


PK, SK = "PK", "SK"
#: Sparse listing index: models (`MODELS`, name) and API keys (`KEYS`, key id).
LIST_INDEX = Index("GSI1", KeySchema("GSI1PK", "GSI1SK"))

#: The single metadata table; Powertools idempotency records live here too, expiring by TTL.
METADATA = TableSchema(keys=KeySchema(PK, SK), indexes=(LIST_INDEX,), ttl_attribute="expiration")
#: The append-only audit table: `CHAIN#<model|platform>` / zero-padded sequence.
AUDIT = TableSchema(keys=KeySchema(PK, SK))


def create_tables(client: Any, *, table_name: str, audit_table_name: str) -> None:
    """Create both tables with a boto3 DynamoDB client (local mode and tests)."""
    for schema, name in ((METADATA, table_name), (AUDIT, audit_table_name)):
        client.create_table(**schema.create_table_kwargs(name))
        if schema.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.ttl_attribute},
            )
