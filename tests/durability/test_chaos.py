"""Chaos: SIGKILL `local up` at seeded random moments of the demo's story, restart it, and
check every invariant after each restart (issue 11; `tests/durability/chaos.py`).

`MODELPORT_CHAOS_SEED` picks other moments (the failure message names the seed); the
longer soak is `python -m benchmarks.durability.soak`."""

from __future__ import annotations

import os

from tests.durability import chaos


def test_the_story_survives_kills_at_random_moments(tmp_path):
    seed = int(os.environ.get("MODELPORT_CHAOS_SEED", "11"))
    result = chaos.run(tmp_path / "state", tmp_path / "work", seed=seed, kills=2)
    assert result.restarts == 2, result
    assert any("production answers 13.0" in c for c in result.checks), result.checks
