"""The metadata table's key schema as the CDK app needs it.

The control plane's table adapter owns the attribute names (DESIGN §3); this module only
reads them, so that the table CloudFormation creates and the items the code writes agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexSchema:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSchema:
    partition_key: str
    sort_key: str
    #: TTL attribute (Powertools idempotency records expire through it).
    ttl_attribute: str
    indexes: tuple[IndexSchema, ...]


def table_schema() -> TableSchema:
    """Key names of the metadata table (and the audit table, which shares PK/SK names)."""
    # DESIGN §3 names until the control plane's schema module lands (issue 2).
    return TableSchema(
        partition_key="PK",
        sort_key="SK",
        ttl_attribute="expiration",
        indexes=(IndexSchema(name="GSI1", partition_key="GSI1PK", sort_key="GSI1SK"),),
    )
