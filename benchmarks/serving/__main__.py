"""``python -m benchmarks.serving``: one command, one run, the same machine, side by side.

Servers, one worker each, the same 20-feature LogisticRegression, single-row JSON:
(a) Modelport's server (default settings, i.e. adaptive batching on, and with batching
off), (b) the bare ASGI loop, (c) ``mlflow models serve``. Load: wrk at 1, 8 and 64
connections. ``--pin`` runs servers on the last core and wrk on the others (``taskset``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
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


def wrk(wrk_bin: str, pin: list[str], port: int, conns: int, seconds: int, script: Path,
        path: str = "/invocations") -> dict:
    url = f"http://127.0.0.1:{port}{path}"
    base = [*pin, wrk_bin, "-t1", f"-c{conns}", "--timeout", "10s", "--latency", "-s", str(script)]
    out = subprocess.run([*base, f"-d{seconds}s", url], capture_output=True, text=True, check=True).stdout
    result = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "errors": 0, "requests": 0}
    for line in out.splitlines():
        parts = line.split()
        if parts[1:3] == ["requests", "in"]:
            result["requests"] = int(parts[0])
        elif line.startswith("Requests/sec:"):
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
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server and connection count")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--pin", action="store_true",
                        help="pin servers and wrk to separate cores with taskset")
    parser.add_argument("--skip-capture", action="store_true",
                        help="skip data capture's cost (through `local up`, capture on vs off)")
    args = parser.parse_args()

    wrk_bin = ensure_wrk()
    if not args.skip_mlflow:
        ensure_mlflow()
    server_pin, load_pin = cpu_split() if args.pin else ([], [])
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
        ("modelport", [py, "-m", "model_containers.serving"], ours_env),  # default settings
        ("modelport-unbatched", [py, "-m", "model_containers.serving"],
         {**ours_env, "MODELPORT_MAX_BATCH_SIZE": "1"}),
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
        if not args.skip_mlflow:
            # MLflow's own client, unchanged, against Modelport's server.
            check = subprocess.run([str(MLFLOW_VENV / "bin" / "python"), "-m", "benchmarks.serving.mlflow_client",
                                    str(ports["modelport"])], cwd=ROOT, capture_output=True, text=True, check=False)
            say((check.stdout.strip() or check.stderr.strip().splitlines()[-1]) if check.returncode == 0
                else f"mlflow_client=FAILED: {check.stderr.strip()[-300:]}")
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
    # Each figure is the median over the rounds, taken figure by figure.
    results = {key: {field: statistics.median(r[field] for r in rs) for field in ("rps", "p50", "p99")}
               | {"errors": sum(r["errors"] for r in rs)} for key, rs in runs.items()}
    report(results, args)
    shutil.rmtree(work, ignore_errors=True)
    if not args.skip_capture:  # issue 13: capture on vs off, at 8 connections, through local SageMaker
        from benchmarks.monitoring import capture

        capture.report(capture.main_capture(args.rounds, args.duration))
    return 0


def report(results: dict, args) -> None:
    print()
    print(f"{'server':<20}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    order = list(dict.fromkeys(name for name, _ in results))
    for (name, conns) in sorted(results, key=lambda k: (order.index(k[0]), k[1])):
        r = results[(name, conns)]
        print(f"{name:<20}{conns:>6}{r['rps']:>11.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
    print()

    def check(key: str, value: float, note: str = "") -> None:
        target = TARGETS[key.removesuffix("_unbatched")]
        ok = value <= target if key.startswith("p99") else value >= target
        sign = "<=" if key.startswith("p99") else ">="
        print(f"{key}={value:.2f} (target {sign} {target}: {'met' if ok else 'MISSED'}){note}")

    ours, plain = results[("modelport", 8)], results[("modelport-unbatched", 8)]
    if ("mlflow", 8) in results:
        check("ratio_vs_mlflow", ours["rps"] / results[("mlflow", 8)]["rps"])
    check("ratio_vs_bare", ours["rps"] / results[("bare-asgi", 8)]["rps"])
    check("batching_gain", results[("modelport", 64)]["rps"] / results[("modelport-unbatched", 64)]["rps"],
          " (64 connections, batching on vs off)")
    print(f"p50_ms={ours['p50']:.2f}")
    check("p99_ms", ours["p99"])
    print("with batching off (MODELPORT_MAX_BATCH_SIZE=1):")
    if ("mlflow", 8) in results:
        check("ratio_vs_mlflow_unbatched", plain["rps"] / results[("mlflow", 8)]["rps"])
    check("ratio_vs_bare_unbatched", plain["rps"] / results[("bare-asgi", 8)]["rps"])
    print(f"p50_ms_unbatched={plain['p50']:.2f}")
    check("p99_ms_unbatched", plain["p99"])
    print(f"(Modelport at 8 connections unless said; default settings = adaptive batching on, "
          f"max_batch_size 32; each figure is the median of {args.rounds} rounds of {args.duration}s"
          f"{', servers and wrk pinned to separate cores' if args.pin else ''})")


if __name__ == "__main__":
    sys.exit(main())
