"""The wait loops' backoff (functions.workflows.polling): fast at first, bounded in polls."""

from __future__ import annotations

import pytest

from functions.workflows.polling import POLLS_PER_LOOP, PollSchedule


def test_the_wait_starts_at_the_interval_and_grows_to_the_cap():
    schedule = PollSchedule(base=30, budget_seconds=28 * 24 * 3600)
    waits = [schedule.wait_seconds(n) for n in range(1, 40)]
    assert waits[:3] == [30, 45, 68]
    assert waits == sorted(waits) and waits[-1] == schedule.cap == 2420


@pytest.mark.parametrize("base", [1, 30, 300])
@pytest.mark.parametrize("budget", [600, 24 * 3600, 28 * 24 * 3600])
def test_a_whole_budget_takes_at_most_the_loops_polls(base, budget):
    schedule = PollSchedule(base=base, budget_seconds=budget)
    polls = schedule.max_polls
    assert sum(schedule.wait_seconds(n) for n in range(1, polls + 1)) >= budget
    assert polls <= POLLS_PER_LOOP + 30  # the ramp to the cap and the slack


def test_a_short_interval_never_grows_past_the_configured_one_when_that_is_the_cap():
    schedule = PollSchedule(base=30, budget_seconds=3600)
    assert {schedule.wait_seconds(n) for n in range(1, 200)} == {30}


def test_zero_polls_without_waiting():
    schedule = PollSchedule(base=0, budget_seconds=600)
    assert schedule.wait_seconds(5) == 0 and schedule.max_polls == 610
