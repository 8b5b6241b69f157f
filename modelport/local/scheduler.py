"""EventBridge Scheduler on one machine: fire the embedded Scheduler's rate schedules.

moto keeps schedules but never fires them; this thread does, as the service does for the
schedules the platform creates: `rate(...)` expressions, state `ENABLED`, a Step Functions
(templated `StartExecution`) or Lambda target with the schedule's `Input`. A schedule
first fires one interval after it was created or last changed; missed firings are not
made up (the service does not backfill either). `cron()` and `at()` expressions are not
fired locally (the platform creates none), which `docs/aws-fidelity.md` records.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    found = _RATE.match(expression)
    return int(found.group(1)) * _SECONDS[found.group(2).rstrip("s")] if found else None


class LocalScheduler:
    """`client(service)` gives boto3 clients of the embedded AWS."""

    def __init__(self, client: Callable[[str], Any], *, interval_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._interval_s = interval_s
        self._clock = clock
        #: schedule ARN → (time of the last change seen, when it fired last or was created)
        self._last: dict[str, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: list[tuple[str, str]] = []

    def start(self) -> LocalScheduler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("local scheduler: a tick failed")

    def tick(self, now: float | None = None) -> list[str]:
        """Fire every schedule that is due at `now`; returns the names fired."""
        now = self._clock() if now is None else now
        scheduler = self._client("scheduler")
        fired = []
        for summary in self._schedules(scheduler):
            schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
            every = rate_seconds(schedule.get("ScheduleExpression", ""))
            if every is None or schedule.get("State") != "ENABLED":
                continue
            changed = _epoch(schedule.get("LastModificationDate") or schedule.get("CreationDate"))
            seen, last = self._last.get(schedule["Arn"], (None, None))
            if seen != changed or last is None:
                last = changed  # new or changed: the first firing is one interval on
            if now >= last + every:
                self._fire(schedule)
                fired.append(schedule["Name"])
                last = now
            self._last[schedule["Arn"]] = (changed, last)
        return fired

    @staticmethod
    def _schedules(scheduler: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in scheduler.get_paginator("list_schedules").paginate(State="ENABLED"):
            found += page.get("Schedules", [])
        return found

    def _fire(self, schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        arn, payload = target["Arn"], target.get("Input") or "{}"
        if arn.startswith("arn:aws:states:"):
            self._client("stepfunctions").start_execution(stateMachineArn=arn, input=payload)
        elif arn.startswith("arn:aws:lambda:"):
            self._client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=payload.encode())
        else:
            log.warning("local scheduler: target %s of %s is not supported locally", arn, schedule["Name"])
            return
        self.fired.append((schedule["Name"], arn))
        log.info("local scheduler: fired %s", schedule["Name"])


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0)
