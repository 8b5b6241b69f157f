"""The tables' key schema as the CDK app needs it, read from the control plane's adapter.

`functions/adapters/schema.py` owns the attribute names (DESIGN §3); the data stack builds
the tables from it, so what CloudFormation creates and what the code writes cannot drift.
"""

from __future__ import annotations

from functions.adapters.schema import AUDIT, METADATA, Index, TableSchema

__all__ = ["AUDIT", "METADATA", "Index", "TableSchema"]
