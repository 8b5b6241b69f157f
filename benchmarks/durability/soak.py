"""`python -m benchmarks.durability.soak`: the chaos test for longer (issue 11).

Runs `tests/durability/chaos.py`'s story again and again, each run with its own seed and
`--kills` SIGKILLs at random moments, for `--minutes`; every restart is checked against
the invariants (audit verifies, nothing acknowledged lost, nothing left running, no
orphan process, production answers). Prints one line per run and the totals; exits 1 at
the first violated invariant, naming the seed that reproduces it
(`MODELPORT_CHAOS_SEED=<seed> pytest tests/durability/test_chaos.py` replays two kills).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.local.__main__ import emit
from tests.durability import chaos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--kills", type=int, default=4, help="kills per run")
    parser.add_argument("--seed", type=int, default=1000, help="first seed")
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    seed, runs, kills, checks = args.seed, 0, 0, 0
    while time.monotonic() < deadline:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            try:
                result = chaos.run(Path(tmp) / "state", Path(tmp) / "work", seed=seed, kills=args.kills,
                                   log=lambda line: None)
            except AssertionError as violated:
                emit("soak.violated_seed", str(seed))
                emit("soak.violation", str(violated).replace("\n", " ")[:500])
                sys.exit(1)
        runs, kills, checks = runs + 1, kills + result.restarts, checks + len(result.checks)
        emit(f"soak.run_{runs}", f"seed={seed} restarts={result.restarts} seconds={result.seconds:.1f}")
        seed += 1
    emit("soak.runs", str(runs))
    emit("soak.restarts_after_sigkill", str(kills))
    emit("soak.invariant_checks_passed", str(checks))
    emit("soak.violations", "0")


if __name__ == "__main__":
    main()
