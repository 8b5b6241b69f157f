"""Data capture's cost on the inference path, at 8 connections, capture on vs off.

One `modelport local up` process (gateway, embedded AWS, local SageMaker); five models,
the same 20-feature LogisticRegression as the serving benchmark, deployed through the
deploy workflow: `cap-on` and `cap-on-b` with `data_capture_percent` 100 (every request is
captured in SageMaker's format and written to the captures bucket), `cap-on-labels` the same with the
policy's `monitoring.ground_truth` on (the capture indexer also writes one DynamoDB item
per captured request; local mode runs that Lambda in the platform's process, AWS in a
Lambda of its own, off the endpoint), and `cap-off` and `cap-off-b` with 0. wrk (one
thread, 8 connections) posts the serving benchmark's single-row JSON through the gateway
(`POST /v1/models/<name>/invocations`, API key, cached authorizer).

Each round runs the five in turn, in a fresh (seeded) random order, and yields paired
figures, `1 - rps(on) / rps(off)` where `on` is the mean of `cap-on` and `cap-on-b` and
`off` the mean of `cap-off` and `cap-off-b` in that round; each result is the median over
the rounds. Two endpoints a side, because single endpoints of one model differ from each
other by more than the target: `cap-off-b` against `cap-off` is the same figure for two
identical endpoints (`aa.*`), the resolution of one endpoint against another here.

On a machine shared with other work, throughput swings by more than the 5 % being
measured (see `aa.*`), so each run also counts the CPU seconds the whole
platform (the `local up` process and its endpoint processes) spends per request, from
before the run until its captures are written and indexed (`settle`: the platform is back
to idle), less the platform's idle CPU over the same time. At saturation throughput is CPU-bound, so
`cpu_cost = 1 - cpu(off) / cpu(on)` per request is the throughput capture costs,
and other processes' load hardly moves it.
`components` counts capture's own work where it happens instead (the writer thread's CPU
for formatting and PutObject, the platform's for the embedded S3, the notification and
the indexer), which needs no comparison of two endpoints.
Target (issue 13): capture costs at most 5 % of throughput.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.local.platform import LocalUp
from benchmarks.serving.__main__ import wrk
from benchmarks.serving.data import BODY
from benchmarks.serving.prepare import build_models, ensure_wrk

CARD = {"intended_use": "bench", "limitations": "none", "evaluation": "none", "training_data": "none"}
TARGET = 0.05
#: after a run: the capture writer flushes every second, then the indexer runs (at least this long).
SETTLE_S = 2.5
#: name, capture percent, ground truth
ENDPOINTS = (("cap-on", 100, False), ("cap-on-b", 100, False), ("cap-on-labels", 100, True),
             ("cap-off", 0, False), ("cap-off-b", 0, False))


def deploy(admin, approver, name: str, model_dir: Path, percent: int, ground_truth: bool = False) -> None:
    admin.models.create({"name": name, "owner": "bench", "framework": "sklearn",
                         "policy": {"monitoring": {"ground_truth": ground_truth}}})
    admin.push(name, model_dir, version="1.0.0", card=CARD)
    admin.versions.submit(name, "1.0.0")
    approver.versions.approve(name, "1.0.0")
    started = admin.deployments.start(name, "1.0.0", settings={"data_capture_percent": percent})
    final = admin.deployments.wait(name, started.id, timeout_s=300)
    if final.status.value != "succeeded":
        raise SystemExit(f"deploying {name} failed: {final.error} {final.cause}")


def run(work: Path, *, rounds: int, seconds: int) -> dict:
    from modelport import Client

    wrk_bin = ensure_wrk()
    model_dir = build_models(work / "models", with_mlflow=False)["modelport"]
    platform = LocalUp(work / "state")
    platform.start()
    try:
        url, key = platform.info["api_url"], platform.info["admin_key"]
        with Client(url, key) as admin:
            token = admin.keys.create({"owner": "bench-approver", "roles": ["approver"]}).token
            with Client(url, token) as approver:
                for name, percent, ground_truth in ENDPOINTS:
                    deploy(admin, approver, name, model_dir, percent, ground_truth)
        found = phase(wrk_bin, int(url.rsplit(":", 1)[1]), key, work, rounds, seconds, platform.process.pid)
        found |= components(platform, work / "state", found)
    finally:
        platform.stop()
    return {**found, "rounds": rounds, "seconds": seconds}


def phase(wrk_bin: str, port: int, key: str, work: Path, rounds: int, seconds: int, pid: int) -> dict:
    """`rounds` paired rounds; medians of the per-round figures."""
    names = [name for name, _, _ in ENDPOINTS]
    for name in names:  # warm-up
        wrk_once(wrk_bin, port, name, key, 2, work)
    time.sleep(SETTLE_S)
    idle_from, idle_cpu = time.monotonic(), tree_cpu(pid)
    time.sleep(2 * SETTLE_S)
    idle_rate = (tree_cpu(pid) - idle_cpu) / (time.monotonic() - idle_from)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    order = random.Random(13)
    for _ in range(rounds):
        for name in order.sample(names, len(names)):  # a fresh order each round: no endpoint always follows another
            started, cpu = time.monotonic(), tree_cpu(pid)
            result = wrk_once(wrk_bin, port, name, key, seconds, work)
            settle(pid, idle_rate)
            used = tree_cpu(pid) - cpu - idle_rate * (time.monotonic() - started)
            runs[name].append({**result, "cpu_ms": used / max(1, result["requests"]) * 1000})

    def paired(ours: tuple[str, ...], bases: tuple[str, ...], field: str) -> float:
        """Per round, the mean of `ours` against the mean of `bases`; the median over rounds."""
        def means(group: tuple[str, ...]) -> list[float]:
            return [statistics.fmean(v) for v in zip(*([r[field] for r in runs[n]] for n in group), strict=True)]

        # throughput: 1 - rps / rps_off; CPU per request: 1 - cpu_off / cpu
        return statistics.median(1 - a / b if field == "rps" else 1 - b / a
                                 for a, b in zip(means(ours), means(bases), strict=True))

    out: dict[str, float | int] = {"idle_cpu_share": idle_rate}
    for name in names:
        out[f"{name}.rps"] = statistics.median(r["rps"] for r in runs[name])
        out[f"{name}.p50_ms"] = statistics.median(r["p50"] for r in runs[name])
        out[f"{name}.cpu_ms_per_request"] = statistics.median(r["cpu_ms"] for r in runs[name])
    off = ("cap-off", "cap-off-b")
    for ours, label in ((("cap-on", "cap-on-b"), "capture"), (("cap-on-labels",), "capture_and_index"),
                        (("cap-off-b",), "aa")):
        bases = ("cap-off",) if label == "aa" else off
        out[f"{label}.throughput_cost"] = paired(ours, bases, "rps")
        out[f"{label}.cpu_cost"] = paired(ours, bases, "cpu_ms")
    out["errors"] = sum(r["errors"] for rs in runs.values() for r in rs)
    return out


def components(platform: LocalUp, state: Path, found: dict, records: int = 5_000, rounds: int = 5) -> dict:
    """Capture's own work, counted where it happens: the local SageMaker's writer (format a
    second's worth of records and PutObject them: CPU of the writing thread) and the
    platform around it (the embedded S3, the notification, the indexer's skip: the `local
    up` process's CPU until idle, less its idle CPU). Medians of `rounds` batches of
    `records`; `share` is their sum against `cap-off`'s CPU per request measured above."""
    import boto3

    from modelport.local.aws import credentials
    from modelport.local.sagemaker.capture import CaptureConfig, CaptureWriter

    keys = credentials.read(state)
    s3 = boto3.client("s3", endpoint_url=platform.info["aws_url"], region_name="us-east-1",
                      aws_access_key_id=keys["aws_access_key_id"], aws_secret_access_key=keys["aws_secret_access_key"])
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "capture" in b["Name"])
    config = CaptureConfig.parse({
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{bucket}/bench-components",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]}})
    writer, pid = CaptureWriter(lambda: s3), platform.process.pid
    started, cpu = time.monotonic(), tree_cpu(pid)
    time.sleep(2 * SETTLE_S)
    idle = (tree_cpu(pid) - cpu) / (time.monotonic() - started)
    own, around = [], []
    for _ in range(rounds):
        for _ in range(records):
            writer.submit("bench", "AllTraffic", config, BODY.encode(), "application/json", b'{"predictions": [1]}',
                          "application/json", "a3f1c2d4-1111-2222-3333-444455556666")
        started, cpu, thread = time.monotonic(), tree_cpu(pid), time.thread_time()
        writer.flush()
        own.append((time.thread_time() - thread) / records * 1e6)
        settle(pid, idle)
        around.append(max(0.0, tree_cpu(pid) - cpu - idle * (time.monotonic() - started)) / records * 1e6)
    writer_us, platform_us = statistics.median(own), statistics.median(around)
    return {"components.writer_us_per_record": writer_us, "components.platform_us_per_record": platform_us,
            "components.share": (writer_us + platform_us) / 1000 / found["cap-off.cpu_ms_per_request"]}


def settle(pid: int, idle_rate: float) -> None:
    """Wait `SETTLE_S` (the capture writer's flush, then the indexer), then until the
    platform is back to idle: half a second at no more than twice its idle CPU (at most 30 s)."""
    time.sleep(SETTLE_S)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        time.sleep(0.5)
        if tree_cpu(pid) - before <= max(2 * idle_rate, 0.02) * 0.5:
            return


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of process `root` and all its descendants, from /proc."""
    parents, ticks = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total / os.sysconf("SC_CLK_TCK")


def wrk_once(wrk_bin: str, port: int, name: str, key: str, seconds: int, work: Path) -> dict:
    script = work / f"{name}.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f'wrk.headers["Authorization"] = "Bearer {key}"\nwrk.body = \'{BODY}\'\n')
    return wrk(wrk_bin, [], port, 8, seconds, script, path=f"/v1/models/{name}/invocations")


def main_capture(rounds: int, seconds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mp-bench-capture-") as tmp:
        return run(Path(tmp), rounds=rounds, seconds=seconds)


def report(found: dict) -> None:
    """`capture.<figure>=` lines, then `capture_cost=` against its target."""
    for key, value in found.items():
        print(f"capture.{key}={value:.3f}" if isinstance(value, float) else f"capture.{key}={value}", flush=True)
    floor = f"two identical endpoints differ by {found['aa.throughput_cost']:.3f} (throughput) and " \
            f"{found['aa.cpu_cost']:.3f} (CPU)"
    print(f"capture_cost.components={found['components.share']:.3f} (target <= {TARGET}: "
          f"{'met' if found['components.share'] <= TARGET else 'NOT met'}; capture's own work where it happens: "
          f"writer {found['components.writer_us_per_record']:.1f} us + platform "
          f"{found['components.platform_us_per_record']:.1f} us per record, against cap-off's CPU per request)",
          flush=True)
    for label, what in (("capture", "capture, ground truth off (the default)"),
                        ("capture_and_index", "capture and the label index, ground truth on")):
        for kind in ("throughput_cost", "cpu_cost"):
            value = found[f"{label}.{kind}"]
            verdict = "met" if value <= TARGET else "NOT met"
            print(f"capture_cost.{label}.{kind}={value:.3f} (target <= {TARGET}: {verdict}; {what}; 8 connections, "
                  f"median of {found['rounds']} paired rounds of {found['seconds']}s; {floor})", flush=True)
