"""``python -m benchmarks.serving.gpu``: TorchScript MLP, CUDA vs CPU, batched vs unbatched.

Prepared to run as one script on a machine with CUDA (no network needed there: it uses
only the project's venv). Without CUDA it prints ``skipped`` and exits 0, unless
``--cpu-only`` asks for the CPU rows alone (which checks the script itself anywhere).

Two parts, side by side in one run:
1. the runtime alone: ``predict`` latency for 1 and 64 rows, on each device;
2. the server: Modelport's server (one worker) under a closed-loop asyncio load generator
   at 64 connections, batching off and on, on each device (``CUDA_VISIBLE_DEVICES=""``
   hides the GPU from the CPU run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
IN, HIDDEN, OUT = 256, 1024, 10


def build_artifact(root: Path) -> Path:
    import torch

    from model_containers.artifact import write_manifest

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, HIDDEN),
                              torch.nn.ReLU(), torch.nn.Linear(HIDDEN, OUT)).eval()
    root.mkdir(parents=True, exist_ok=True)
    torch.jit.script(net).save(str(root / "model.pt"))
    write_manifest(root, framework="torchscript", model_file="model.pt", signature={
        "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, IN]}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [-1, OUT]}]})
    return root


def time_runtime(model_dir: Path, device: str, rows: int, n: int = 300) -> float:
    """Microseconds per predict call for ``rows`` rows on ``device``."""
    import torch

    from model_containers.manifest import load_manifest
    from model_containers.runtimes.torchscript import TorchScriptRuntime

    runtime = TorchScriptRuntime()
    runtime.load(model_dir, load_manifest(model_dir))
    if device == "cpu" and runtime.device != "cpu":
        runtime.device = "cpu"
        runtime._module = runtime._module.to("cpu")
    batch = np.random.default_rng(0).normal(size=(rows, IN)).astype(np.float32)
    for _ in range(20):
        runtime.predict(batch)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        runtime.predict(batch)  # returns numpy, so each call already waits for the GPU
    return (time.perf_counter() - start) / n * 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(port: int, conns: int, seconds: float, body: bytes) -> tuple[float, float]:
    """Closed-loop load: (requests/s, p99 ms). Raw asyncio streams keep the client cheap."""
    request = (f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"server answered {head[:40]!r}")
            latencies.append(time.perf_counter() - t0)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, float(np.percentile(latencies, 99) * 1000)


def serve_and_load(model_dir: Path, device: str, batch: int, conns: int, seconds: float) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "MODELPORT_MODEL_DIR": str(model_dir), "MODELPORT_PORT": str(port),
           "MODELPORT_HOST": "127.0.0.1", "MODELPORT_WORKERS": "1", "MODELPORT_LOG_LEVEL": "warning",
           "MODELPORT_MAX_BATCH_SIZE": str(batch), "MODELPORT_MAX_LATENCY_MS": "2"}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.Popen([sys.executable, "-m", "model_containers.serving"], env=env, cwd=ROOT,
                            start_new_session=True)
    try:
        import urllib.request

        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("server never became ready")
        row = np.random.default_rng(1).normal(size=IN).round(4).tolist()
        body = b'{"instances": [' + str(row).encode() + b"]}"
        asyncio.run(load(port, conns, 2, body))  # warm-up
        return asyncio.run(load(port, conns, seconds, body))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpu-only", action="store_true", help="run the CPU rows even without CUDA")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--max-batch-size", type=int, default=64)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed (the 'torch' extra)")
        return 0
    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_only:
        print("skipped: no CUDA device here (use --cpu-only to run the CPU rows)")
        return 0
    devices = (["cuda"] if cuda else []) + ["cpu"]
    if cuda:
        print(f"device: {torch.cuda.get_device_name(0)}")
    model_dir = build_artifact(Path(tempfile.mkdtemp(prefix="mp-gpu-")) / "model")
    print(f"\nruntime alone: TorchScript MLP {IN}-{HIDDEN}-{HIDDEN}-{OUT}, us per predict call")
    print(f"{'device':<8}{'1 row':>10}{'64 rows':>10}{'rows/s @64':>14}")
    for device in devices:
        one, many = time_runtime(model_dir, device, 1), time_runtime(model_dir, device, 64)
        print(f"{device:<8}{one:>10.0f}{many:>10.0f}{64 / many * 1e6:>14.0f}")
    print(f"\nserver: one worker, {args.connections} connections, single-row JSON, {args.seconds:.0f}s each")
    print(f"{'device':<8}{'batching':>10}{'req/s':>10}{'p99 ms':>9}")
    results = {}
    for device in devices:
        for batch in (1, args.max_batch_size):
            rps, p99 = serve_and_load(model_dir, device, batch, args.connections, args.seconds)
            results[(device, batch)] = rps
            print(f"{device:<8}{'on' if batch > 1 else 'off':>10}{rps:>10.0f}{p99:>9.2f}")
    for device in devices:
        gain = results[(device, args.max_batch_size)] / results[(device, 1)]
        print(f"batching_gain_{device}={gain:.2f}")
    if cuda:
        print(f"cuda_vs_cpu_batched={results[('cuda', args.max_batch_size)] / results[('cpu', args.max_batch_size)]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
