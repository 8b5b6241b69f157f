"""One drift-monitoring schedule per deployed alias, from the model's policy.

The schedule (EventBridge Scheduler on AWS, the local platform's scheduler locally) starts
the monitor workflow with `{model, alias, source: "schedule"}` at the policy's rate. It is
put when a deployment moves an alias (the deploy workflow's last step) and removed when
monitoring is disabled or has no schedule; `sync` does both from the current policy, so
whatever changes the policy (e.g. a PATCH of the model) calls it too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from functions.core.models import Model

_NAME_MAX = 64


class Schedules(Protocol):
    def put(self, name: str, expression: str, input: dict[str, Any]) -> None:
        """Create or update the schedule."""

    def delete(self, name: str) -> None:
        """Remove the schedule (absent is fine)."""


def schedule_name(model: str, alias: str) -> str:
    """`<model>-<alias>`, within Scheduler's 64 characters (a hash keeps long ones unique)."""
    readable = re.sub(r"[^0-9a-zA-Z-]", "-", f"{model}-{alias}")
    if len(readable) <= _NAME_MAX:
        return readable
    digest = hashlib.sha256(f"{model}\0{alias}".encode()).hexdigest()[:8]
    return f"{readable[:_NAME_MAX - 9].rstrip('-')}-{digest}"


def sync(schedules: Schedules, model: Model, alias: str, *, deployed: bool) -> str | None:
    """Make the alias's schedule match the policy; returns the expression now scheduled."""
    policy = model.policy.monitoring
    name = schedule_name(model.name, alias)
    if not (deployed and policy.enabled and policy.schedule):
        schedules.delete(name)
        return None
    schedules.put(name, policy.schedule, {"model": model.name, "alias": alias, "source": "schedule"})
    return policy.schedule


def sync_all(deps: Any, schedules: Schedules) -> int:
    """Every model's aliases (a start of local mode, whose Scheduler keeps no schedules);
    returns how many schedules are now in place."""
    from functions.core.models import Alias
    from functions.core.records import ALIAS_PREFIX, MODELS_INDEX_PK, model_pk

    placed = 0
    cursor = None
    while True:
        page = deps.store.list_index(MODELS_INDEX_PK, Model, limit=100, cursor=cursor)
        for model in page.items:
            for alias in deps.store.query(model_pk(model.name), Alias, prefix=ALIAS_PREFIX, limit=100).items:
                placed += sync(schedules, model, alias.alias, deployed=bool(alias.endpoint)) is not None
        cursor = page.cursor
        if cursor is None:
            return placed
