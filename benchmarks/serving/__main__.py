"""``python -m benchmarks.serving``: one command, one run, the same machine, side by side.

Servers, one worker each, the same 20-feature LogisticRegression, single-row JSON:
(a) Modelport's server (batching off, and batching on), (b) the bare ASGI loop,
(c) ``mlflow models serve``. Load: wrk at 1, 8 and 64 connections. When ``taskset`` is
available, servers run on the last core and wrk on the others, so they do not trade places.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.serving.data import BODY
from benchmarks.serving.prepare import (
    MLFLOW_VENV,
    ROOT,
    build_models,
    ensure_mlflow,
    ensure_wrk,
    say,
)

CONNECTIONS = (1, 8, 64)
TARGETS = {"ratio_vs_mlflow": 4.0, "ratio_vs_bare": 0.85, "p99_ms": 5.0, "batching_gain": 2.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_split() -> tuple[list[str], list[str]]:
    cores = os.cpu_count() or 1
    if cores < 2 or not shutil.which("taskset"):
        return [], []
    return ["taskset", "-c", str(cores - 1)], ["taskset", "-c", f"0-{cores - 2}"]


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"server never became ready; see {log}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def wrk(wrk_bin: str, pin: list[str], port: int, conns: int, seconds: int, script: Path) -> dict:
    url = f"http://127.0.0.1:{port}/invocations"
    base = [*pin, wrk_bin, "-t1", f"-c{conns}", "--timeout", "10s", "--latency", "-s", str(script)]
    out = subprocess.run([*base, f"-d{seconds}s", url], capture_output=True, text=True, check=True).stdout
    result = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "errors": 0}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif parts[:1] == ["50%"]:
            result["p50"] = _ms(parts[1])
        elif parts[:1] == ["99%"]:
            result["p99"] = _ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            result["errors"] += int(parts[-1])
        elif line.strip().startswith("Socket errors"):
            result["errors"] += sum(int(p.strip(",")) for p in parts[3::2])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and connection count")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-latency-ms", type=float, default=2.0)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin servers and wrk to separate cores with taskset")
    args = parser.parse_args()

    wrk_bin = ensure_wrk()
    if not args.skip_mlflow:
        ensure_mlflow()
    server_pin, load_pin = ([], []) if args.no_pin else cpu_split()
    work = Path(tempfile.mkdtemp(prefix="mp-bench-"))
    models = build_models(work, with_mlflow=not args.skip_mlflow)
    script = work / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = '{BODY}'\n")
    py = sys.executable
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    ours_env = {**base_env, "MODELPORT_MODEL_DIR": str(models["modelport"]), "MODELPORT_HOST": "127.0.0.1",
                "MODELPORT_WORKERS": "1", "MODELPORT_LOG_LEVEL": "warning"}
    servers = [
        ("modelport", [py, "-m", "model_containers.serving"], {**ours_env, "MODELPORT_MAX_BATCH_SIZE": "1"}),
        ("modelport+batching", [py, "-m", "model_containers.serving"],
         {**ours_env, "MODELPORT_MAX_BATCH_SIZE": str(args.max_batch_size),
          "MODELPORT_MAX_LATENCY_MS": str(args.max_latency_ms)}),
        # The same uvicorn options as Modelport's server, so only the application differs.
        ("bare-asgi", [py, "-m", "uvicorn", "benchmarks.serving.bare:app", "--loop", "uvloop", "--http",
                       "httptools", "--no-access-log", "--no-proxy-headers", "--no-server-header",
                       "--log-level", "warning", "--host", "127.0.0.1"],
         {**base_env, "BENCH_MODEL": str(models["modelport"] / "model.skops")}),
    ]
    if not args.skip_mlflow:
        mlflow_bin = MLFLOW_VENV / "bin"
        servers.append(("mlflow", [str(mlflow_bin / "mlflow"), "models", "serve", "-m", str(models["mlflow"]),
                                   "--env-manager", "local", "-h", "127.0.0.1", "-w", "1"],
                        {**base_env, "PATH": f"{mlflow_bin}:{base_env.get('PATH', '')}"}))
    # All servers start first and stay up; each round then loads them in turn at each
    # connection count, so background noise on the machine falls on all of them alike.
    procs, ports = [], {}
    try:
        for name, cmd, env in servers:
            port = free_port()
            full = [*server_pin, *cmd, *(["-p", str(port)] if name == "mlflow" else
                                         ["--port", str(port)] if name == "bare-asgi" else [])]
            say(f"starting {name} on port {port}")
            procs.append(start(full, {**env, "MODELPORT_PORT": str(port)}, port, work / f"{name}.log"))
            ports[name] = port
        runs: dict[tuple[str, int], list[dict]] = {}
        for conns in CONNECTIONS:
            for port in ports.values():
                wrk(wrk_bin, load_pin, port, conns, 2, script)  # warm-up
            for round_no in range(args.rounds):
                for name, port in ports.items():
                    r = wrk(wrk_bin, load_pin, port, conns, args.duration, script)
                    runs.setdefault((name, conns), []).append(r)
                    say(f"round {round_no + 1} {name:<19} c={conns:<3} {r['rps']:>9.0f} req/s  "
                        f"p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms")
    finally:
        for proc in procs:
            stop(proc)
    # The median round by throughput represents each (server, connections) pair.
    results = {key: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2] for key, rs in runs.items()}
    report(results, args)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: dict, args) -> None:
    print()
    print(f"{'server':<20}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    order = list(dict.fromkeys(name for name, _ in results))
    for (name, conns) in sorted(results, key=lambda k: (order.index(k[0]), k[1])):
        r = results[(name, conns)]
        print(f"{name:<20}{conns:>6}{r['rps']:>11.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
    print()
    ours8 = results[("modelport", 8)]
    lines = {}
    if ("mlflow", 8) in results:
        lines["ratio_vs_mlflow"] = ours8["rps"] / results[("mlflow", 8)]["rps"]
    lines["ratio_vs_bare"] = ours8["rps"] / results[("bare-asgi", 8)]["rps"]
    lines["batching_gain"] = results[("modelport+batching", 64)]["rps"] / results[("modelport", 64)]["rps"]
    for key, value in lines.items():
        print(f"{key}={value:.2f} (target >= {TARGETS[key]}: {'met' if value >= TARGETS[key] else 'MISSED'})")
    print(f"p50_ms={ours8['p50']:.2f}")
    print(f"p99_ms={ours8['p99']:.2f} (target <= {TARGETS['p99_ms']}: "
          f"{'met' if ours8['p99'] <= TARGETS['p99_ms'] else 'MISSED'})")
    print(f"(modelport at 8 connections, batching off; batching_gain = batching on vs off at 64 "
          f"connections, max_batch_size={args.max_batch_size}, max_latency_ms={args.max_latency_ms}; "
          f"each figure is the median of {args.rounds} rounds of {args.duration}s)")


if __name__ == "__main__":
    sys.exit(main())
