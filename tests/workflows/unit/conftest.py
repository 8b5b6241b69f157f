"""The core's in-memory ports and principals, shared with tests/unit."""

from tests.unit.conftest import admin, approver, churn, deps, publisher  # noqa: F401 - fixtures
