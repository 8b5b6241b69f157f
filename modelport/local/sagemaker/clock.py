"""Time as the local SageMaker sees it: injectable so tests control baking periods."""

from __future__ import annotations

import threading
import time


class Clock:
    """Wall time for records, monotonic time for deadlines, and cancellable sleeps."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, cancel: threading.Event) -> bool:
        """Sleep up to `seconds`; True when `cancel` was set meanwhile."""
        return cancel.wait(max(0.0, seconds))
