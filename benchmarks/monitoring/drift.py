"""The drift job at 10k, 100k and 1M captured records: throughput and peak memory.

Captures are SageMaker data-capture JSON Lines (one single-row `instances` request per
line, 8 numeric and 2 categorical features, its prediction), 10,000 records per file, as
the local SageMaker writes them; labels for a tenth of them. Each run is a fresh
`python -m model_containers.monitoring`-equivalent process (`probe`), so peak RSS is the
job's own. Reference, in the same run: the parse floor, a process that only reads the
same files and `orjson.loads` each line (no decoding of the bodies, no statistics).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PER_FILE = 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)

#: the job, measured from inside its process: wall seconds (of which importing numpy,
#: pandas and scipy), and peak RSS.
PROBE = """
import json, resource, sys, time
from pathlib import Path
t = time.perf_counter()
from model_containers.monitoring.job import run
imported = time.perf_counter()
found = run(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - t, "import_seconds": imported - t, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": found["rows"], "status": found["status"], "drifted": found["drifted_features"]}))
"""
#: the reference: read the same files and parse each line, nothing else.
FLOOR = """
import json, resource, sys, time
from pathlib import Path
t = time.perf_counter()
import orjson
n = 0
for path in sorted(Path(sys.argv[1]).rglob("*.jsonl")):
    for line in path.read_bytes().splitlines():
        orjson.loads(line)
        n += 1
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": n}))
"""


def build(root: Path, records: int) -> None:
    """A processing job's /opt/ml for `records` captures (`root` is created)."""
    import numpy as np
    import orjson
    import pandas as pd

    from model_containers import artifact
    from model_containers.monitoring import baseline, job

    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(8)]
    train = pd.DataFrame({n: rng.normal(i, 1 + i / 4, 20_000) for i, n in enumerate(names)})
    train["plan"] = rng.choice(["basic", "plus", "pro"], 20_000)
    train["region"] = rng.choice([f"r{i}" for i in range(12)], 20_000)
    model = root / "artifact"
    model.mkdir(parents=True)
    (model / "predictor.py").write_text("x = 1\n")
    baseline.write(model, baseline.profile(train, predictions=(train["x0"] > 0).astype(int), task="classification"))
    artifact.write_manifest(model, framework="python", model_file="predictor.py", signature={})
    (root / job.MODEL).mkdir(parents=True)
    artifact.pack(model, root / job.MODEL / "model.tar.gz")
    (root / job.CONFIG).mkdir(parents=True)
    (root / job.CONFIG / "run.json").write_text(json.dumps({
        "run_id": "bench", "model": "bench", "alias": "production", "version": "1.0.0",
        "window": {"start": START.isoformat(), "end": (START + timedelta(days=30)).isoformat()},
        "thresholds": {}, "metric": "accuracy", "history": [], "window_dataset": False}))
    captures = root / job.CAPTURES / "ep" / "AllTraffic"
    labels = []
    for first in range(0, records, PER_FILE):
        n = min(PER_FILE, records - first)
        x = np.column_stack([rng.normal(i + (0.8 if i == 3 else 0), 1 + i / 4, n) for i in range(8)]).round(4)
        plans = rng.choice(["basic", "plus", "pro"], n)
        regions = rng.choice([f"r{i}" for i in range(12)], n)
        lines = []
        for j in range(n):
            ident = str(uuid.UUID(int=first + j))
            body = orjson.dumps({"instances": [[*x[j].tolist(), str(plans[j]), str(regions[j])]]}).decode()
            at = START + timedelta(seconds=(first + j) // 50)
            lines.append(orjson.dumps({
                "captureData": {
                    "endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": body,
                                      "encoding": "JSON"},
                    "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                       "data": f'{{"predictions": [{int(x[j][0] > 0)}]}}', "encoding": "JSON"}},
                "eventMetadata": {"eventId": ident, "inferenceId": ident, "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
                "eventVersion": "0"}))
            if j % 10 == 0:
                labels.append(orjson.dumps({"inference_id": ident, "label": int(rng.random() < 0.5)}))
        folder = captures / f"{at:%Y/%m/%d/%H}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{first:09d}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (root / job.LABELS).mkdir(parents=True)
    (root / job.LABELS / "labels.jsonl").write_bytes(b"\n".join(labels) + b"\n")


def measure(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(work: Path, sizes: list[int], rounds: int) -> list[dict]:
    from model_containers.monitoring import job

    results = []
    for records in sizes:
        root = work / f"ml-{records}"
        built = datetime.now()
        build(root, records)
        print(f"# built {records:,} captures in {(datetime.now() - built).total_seconds():.1f}s", flush=True)
        jobs, floors = [], []
        for _ in range(rounds):
            jobs.append(measure(PROBE, str(root)))
            floors.append(measure(FLOOR, str(root / job.CAPTURES)))
        assert all(j["rows"] == records for j in jobs), jobs
        seconds = statistics.median(j["seconds"] for j in jobs)
        floor = statistics.median(f["seconds"] for f in floors)
        results.append({
            "records": records, "seconds": seconds, "import_seconds": statistics.median(j["import_seconds"] for j in jobs), "records_per_s": records / seconds,
            "us_per_record": seconds / records * 1e6, "rss_mb": statistics.median(j["rss_mb"] for j in jobs),
            "floor_seconds": floor, "floor_rss_mb": statistics.median(f["rss_mb"] for f in floors),
            "ratio_vs_parse_floor": seconds / floor, "drifted": jobs[0]["drifted"], "runs": len(jobs),
        })  # fmt: skip
        subprocess.run(["rm", "-rf", str(root)], check=True)
    return results
