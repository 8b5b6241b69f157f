"""`python -m benchmarks.monitoring`: the drift job's cost as captures grow, and data
capture's cost on serving. One `name=value` line per figure (see README.md).

* `drift.<records>.*` — the drift job (`model_containers.monitoring`) on 10k, 100k and 1M
  captured records: seconds, records per second, µs per record, peak RSS, and the ratio to
  the parse floor (reading and `orjson.loads`-ing the same lines) measured in the same run;
  `drift.growth_*` — how time and memory grow from one size to the next (10× records).
* `capture.*` — requests per second through the local gateway at 8 connections to an
  endpoint that captures every request and to one that captures none; target: ≤ 5 % cost.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path


def emit(name: str, value: float | str) -> None:
    print(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="captured records per drift run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per size (each a fresh process)")
    parser.add_argument("--capture-rounds", type=int, default=11, help="paired rounds per phase")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--skip-capture", action="store_true")
    args = parser.parse_args()
    if not args.skip_drift:
        from benchmarks.monitoring import drift

        with tempfile.TemporaryDirectory(prefix="mp-bench-drift-") as tmp:
            results = drift.run(Path(tmp), [int(s) for s in args.sizes.split(",")], args.rounds)
        for r in results:
            n = r["records"]
            for key in ("seconds", "import_seconds", "records_per_s", "us_per_record", "rss_mb", "floor_seconds", "ratio_vs_parse_floor"):
                emit(f"drift.{n}.{key}", float(r[key]))
            emit(f"drift.{n}.run_us_per_record", (r["seconds"] - r["import_seconds"]) / n * 1e6)
            emit(f"drift.{n}.drifted", ",".join(r["drifted"]) or "none")
        for small, big in itertools.pairwise(results):
            emit(f"drift.growth_time_{small['records']}_to_{big['records']}", big["seconds"] / small["seconds"])
            emit(f"drift.growth_rss_{small['records']}_to_{big['records']}", big["rss_mb"] / small["rss_mb"])
    if not args.skip_capture:
        from benchmarks.monitoring import capture

        capture.report(capture.main_capture(args.capture_rounds, args.duration))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
