"""Import+init of each handler module in a fresh interpreter, and its first and warm request."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

HANDLERS = ("auth", "registry", "versioning", "keys", "audit")

#: The issue's reference probe: boto3 + Powertools Logger/Tracer/Metrics + pydantic.
PROBE = """
import time
t, c = time.perf_counter(), time.process_time()
import boto3, pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
Logger(); Metrics(namespace="x"); Tracer(disabled=True)
print(json.dumps({"import_ms": (time.perf_counter() - t) * 1000, "cpu_ms": (time.process_time() - c) * 1000}))
"""

SCRIPT = """
import time
t, c = time.perf_counter(), time.process_time()
import functions.{name}.handler as handler
init_ms, cpu_ms = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
from tests.functional.gateway import LambdaContext
event = json.loads(sys.argv[1])
t = time.perf_counter()
first = handler.lambda_handler(event, LambdaContext())
first_ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
handler.lambda_handler(event, LambdaContext())
warm_ms = (time.perf_counter() - t) * 1000
print(json.dumps({{"import_ms": init_ms, "cpu_ms": cpu_ms, "first_ms": first_ms, "warm_ms": warm_ms}}))
"""


def _run(code: str, env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + code, *args],
        env=env, capture_output=True, text=True, check=True, cwd=os.getcwd(),
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(env: dict[str, str], events: dict[str, dict], repeat: int = 5) -> list[tuple[str, object]]:
    # As the CDK app sets it for every Lambda (infra/constructs/platform_function.py); the
    # reference probe gets the same environment.
    env = {**env, "PYDANTIC_DISABLE_PLUGINS": "__all__"}
    lines: list[tuple[str, object]] = []
    probe = [_run(PROBE, env) for _ in range(repeat)]
    reference = statistics.median(p["import_ms"] for p in probe)
    reference_cpu = statistics.median(p["cpu_ms"] for p in probe)
    lines.append(("import.reference_probe.median_ms", round(reference, 1)))
    lines.append(("import.reference_probe.cpu_median_ms", round(reference_cpu, 1)))
    for name in HANDLERS:
        runs = [_run(SCRIPT.format(name=name), env, json.dumps(events[name])) for _ in range(repeat)]
        median = statistics.median(r["import_ms"] for r in runs)
        lines += [
            (f"import.{name}.median_ms", round(median, 1)),
            (f"import.{name}.min_ms", round(min(r["import_ms"] for r in runs), 1)),
            (f"import.{name}.cpu_median_ms", round(statistics.median(r["cpu_ms"] for r in runs), 1)),
            (f"import.{name}.vs_reference_probe", round(median / reference, 2)),
            (f"import.{name}.target_200ms_met", median <= 200),
            (f"request.{name}.first_ms", round(statistics.median(r["first_ms"] for r in runs), 1)),
            (f"request.{name}.warm_ms", round(statistics.median(r["warm_ms"] for r in runs), 1)),
        ]
    return lines
