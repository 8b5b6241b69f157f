"""How the workflows' wait loops poll: a backoff that bounds the execution history.

A Standard execution keeps at most 25,000 history events and fails, skipping every Catch,
once it would write more (Step Functions service-quotas.html). One poll of a wait loop
(Wait, the Describe step, the Choice) writes 9 events, so a 24 h training job polled
every 30 s (2,880 polls) would write about 26,000. Each loop therefore starts at the
configured interval and grows it by half each poll up to a cap that keeps the longest
allowed run of the loop (`budget_seconds`) within `POLLS_PER_LOOP` polls: a short job is
still noticed within seconds of finishing, a 28-day one within about 40 minutes.
tests/workflows/steps/test_execution_history.py counts the events of the longest runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: polls a loop needs at most for its whole budget (each writes 9 events, 12 with a retry).
POLLS_PER_LOOP = 1000
GROWTH = 1.5
#: polls allowed past the budget before a loop counts as stuck (clock skew, slow steps).
SLACK_POLLS = 10


@dataclass(frozen=True)
class PollSchedule:
    """Waits of one loop: `base` seconds first (0: poll without waiting, local tests),
    growing by GROWTH per poll up to `cap`, for a loop that may run `budget_seconds`."""

    base: int
    budget_seconds: int

    @property
    def cap(self) -> int:
        return max(self.base, math.ceil(self.budget_seconds / POLLS_PER_LOOP))

    def wait_seconds(self, polls: int) -> int:
        """The wait after the `polls`-th poll (1-based)."""
        if self.base <= 0:
            return 0
        return min(self.cap, math.ceil(self.base * GROWTH ** min(max(polls - 1, 0), 64)))

    @property
    def max_polls(self) -> int:
        """Polls after which the loop has waited its whole budget (plus a little slack)."""
        if self.base <= 0:
            return self.budget_seconds + SLACK_POLLS  # one poll a second at most, as before
        waited, polls = 0, 0
        while waited < self.budget_seconds:
            polls += 1
            waited += self.wait_seconds(polls)
        return max(SLACK_POLLS, polls + SLACK_POLLS)
