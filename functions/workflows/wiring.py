"""Shared wiring of the deployment and retraining Lambdas.

Each Lambda builds its own adapters in its own module (`deploy_steps.deploy_env`,
`retrain_steps.retrain_env`, `trigger.trigger_env`, the API routers' `api_env`), so that
what a Lambda can call is what its module reaches (infra's IAM check reads that), built on
first use and kept for the life of the execution environment. `reset()` forgets them all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[[], Any])
_CACHED: list[Any] = []


def once(build: F) -> F:
    """Build on first call, then reuse (like `functions.adapters.wiring`); see `reset`."""
    cached = lru_cache(maxsize=1)(build)
    _CACHED.append(cached)
    return cached  # type: ignore[return-value]


def reset() -> None:
    """Forget every Lambda's cached settings and adapters (tests that change the environment)."""
    for cached in _CACHED:
        cached.cache_clear()
