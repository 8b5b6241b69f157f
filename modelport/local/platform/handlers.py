"""The Lambda handlers as local mode runs them: in-process, imported on first use, with
the settings-derived caches reset between starts and requests that need the workflows
held until the state machines exist."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: Handler modules are imported one at a time: Powertools' packages import each other in
#: cycles that two threads importing at once can catch half-initialised.
_IMPORTS = threading.Lock()


#: One execution environment for every API handler: Powertools' resolvers keep the current
#: event in a class attribute (`BaseRouter.current_event`) shared by all of them in a process.
RESOLVERS = threading.Lock()


def lazy_handler(
    spec: str, gate: WorkflowGate | None = None, environment: threading.Lock | None = None
) -> Callable[[Any, Any], Any]:
    """A handler imported on its first call (keeps start-up fast), then called directly.

    Calls holding the same `environment` lock run one at a time, as in one Lambda execution
    environment: handlers keep per-invocation state in globals (the current event, Logger
    keys), so two concurrent calls could read each other's caller. Default: a lock of its own.
    """
    module, _, name = spec.partition(":")
    loaded: list[Callable[[Any, Any], Any]] = []
    environment = environment or threading.Lock()

    def handler(event: Any, context: Any) -> Any:
        if gate is not None:
            gate.wait()
        if not loaded:
            with _IMPORTS:
                if not loaded:
                    loaded.append(getattr(importlib.import_module(module), name))
        with environment:
            try:
                return loaded[0](event, context)
            finally:
                _drop_metrics()

    handler.module = module  # type: ignore[attr-defined]
    return handler


def _drop_metrics() -> None:
    """Forget the EMF metrics an in-process handler left behind.

    With metrics disabled Powertools still prints the whole buffer to stdout once one
    metric has 100 values (its auto-flush skips the disabled check), and in one process
    the buffer outlives every invocation; in local mode nobody collects EMF anyway.
    """
    metrics = sys.modules.get("aws_lambda_powertools.metrics")
    if metrics is not None:
        metrics.Metrics().clear_metrics()


def reset_handler_caches() -> None:
    """Forget clients and settings the handlers cached: they point at the previous endpoint.

    `wiring.reset()` misses the Powertools idempotency layer's cached client (reported to
    the control-plane engineer), so it is cleared here too while that stands.
    """
    from functions.adapters import wiring

    wiring.reset()
    if exists("functions.workflows.wiring:reset"):
        importlib.import_module("functions.workflows.wiring").reset()
    idempotency = importlib.import_module("functions.adapters.idempotency")
    cached = getattr(idempotency, "_idempotent", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def exists(spec: str) -> bool:
    try:
        return importlib.util.find_spec(spec.partition(":")[0]) is not None
    except ModuleNotFoundError:
        return False




class WorkflowGate:
    """Open once the state machines exist; handlers that start executions wait for it.

    Creating the state machines loads moto's Step Functions interpreter (seconds of
    imports), so local mode does it after the API is up; a deployment requested in those
    seconds waits here instead of failing.
    """

    def __init__(self, timeout_s: float = 120.0) -> None:
        self._open = threading.Event()
        self._error: str | None = None
        self._timeout_s = timeout_s

    def open(self, error: str | None = None) -> None:
        self._error = error
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def wait(self) -> None:
        if not self._open.wait(self._timeout_s):
            raise RuntimeError(f"the workflows were not ready after {self._timeout_s:g}s")
        if self._error:
            raise RuntimeError(f"the workflows are not available: {self._error}")


def warm_handlers(specs: tuple[str, ...]) -> None:
    """Import the handlers in the background so the first requests do not wait for it."""
    for spec in specs:
        if exists(spec):
            try:
                with _IMPORTS:
                    importlib.import_module(spec.partition(":")[0])
            except Exception:
                log.exception("importing %s failed", spec)
