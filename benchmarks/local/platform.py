"""`python -m benchmarks.local.platform`: the whole of `modelport local up` and `modelport demo`.

One `name=value` line per figure (see README.md, "The platform"):

* `local_up.ready.*` — a fresh `python -m modelport local up --json` process until its API
  answers an authenticated request, empty and restored state; reference: bare moto
  (`ThreadedMotoServer`) in a fresh interpreter answering one request, same run. Target ≤ 5 s.
* `gateway.invoke.*` — interleaved invocations of one endpoint process: straight to the
  process (the reference) and through the local gateway (route match, cached authorizer,
  direct path to SageMaker runtime), both from the same keep-alive client in this process
  while the platform runs in its own. Target: ≤ 1 ms added at p50.
* `gateway.wrk.c<N>.*` — wrk at 1, 8 and 64 connections, the endpoint process straight
  (the reference) and through the gateway, side by side in alternating rounds; medians.
  Targets (issue 11): at 8 and 64 connections ≥ 0.8× the direct throughput, ≤ 1 ms added
  at p50.
* `demo.*` — `python -m modelport demo --exit` wall time and per step. Target ≤ 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import urllib3

from benchmarks.local.__main__ import READY_MOTO, emit, fresh

ROOT = Path(__file__).resolve().parents[2]
CARD = {"intended_use": "bench", "limitations": "none", "evaluation": "none", "training_data": "none"}
BODY = b"[[1.0, 2.0, 3.0]]"


class LocalUp:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.info: dict = {}
        self.spawned_at = 0.0

    def start(self) -> float:
        """Seconds from spawning the process to the first answered API request."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "MOTO_"))}
        started = self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelport", "local", "up", "--json", "--port", "0", "--state-dir", str(self.state_dir)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        lines = []
        while not lines or lines[-1].rstrip() != "}":
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("modelport local up exited before it was ready")
            lines.append(line)
        self.info = json.loads("".join(lines))
        http = urllib3.PoolManager()
        answer = http.request("GET", f"{self.info['api_url']}/v1/models?limit=1",
                              headers={"Authorization": f"Bearer {self.info['admin_key']}"})
        assert answer.status == 200, answer.data
        ready = time.perf_counter() - started
        self.workflows_ready = self._state_machines_exist(started)
        return ready

    def _state_machines_exist(self, started: float) -> float:
        """Seconds from the spawn until both state machines exist (created after the API is up)."""
        import boto3

        from modelport.local.aws import credentials

        keys = credentials.read(self.state_dir)
        while keys is None:  # written once the embedded AWS listens
            time.sleep(0.01)
            keys = credentials.read(self.state_dir)
        sfn = boto3.client("stepfunctions", endpoint_url=self.info["aws_url"], region_name="us-east-1",
                           aws_access_key_id=keys["aws_access_key_id"],
                           aws_secret_access_key=keys["aws_secret_access_key"])
        while len(sfn.list_state_machines()["stateMachines"]) < 2:
            time.sleep(0.02)
        return time.perf_counter() - started

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.wait(timeout=60)
        self.process.stdout.close()


def serving_port(parent_pid: int) -> int:
    """The port of the endpoint process that `local up` (pid) started (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent_pid and b"model_containers.serving" in cmdline:
            for item in environ:
                if item.startswith(b"SAGEMAKER_BIND_TO_PORT="):
                    return int(item.split(b"=", 1)[1])
    raise RuntimeError("no serving process found")


def deploy_sum_model(up: LocalUp, work: Path) -> str:
    from modelport import Client

    model = work / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "predictor.py").write_text(
        "import numpy as np\n\ndef load(model_dir):\n    pass\n\n"
        "def predict(batch):\n    return np.asarray(batch, dtype=float).sum(axis=1)\n"
    )
    with Client(up.info["api_url"], up.info["admin_key"]) as admin:
        admin.models.create({"name": "bench", "owner": "bench", "framework": "python", "policy": {"allow_code": True}})
        admin.push("bench", model, version="1.0.0", card=CARD)
        admin.versions.submit("bench", "1.0.0")
        approver = admin.keys.create({"owner": "bench-approver", "roles": ["approver"]}).token
        with Client(up.info["api_url"], approver) as other:
            other.versions.approve("bench", "1.0.0")
        started = admin.deployments.start("bench", "1.0.0", to="production")
        assert admin.deployments.wait("bench", started.id, timeout_s=300).status.value == "succeeded"
        return admin.keys.create({"owner": "bench-app", "roles": ["consumer"]}).token


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e3, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3


def gateway_overhead(up: LocalUp, token: str, requests: int) -> None:
    port = serving_port(up.process.pid)
    direct = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)
    host, gw_port = up.info["api_url"].rsplit("//", 1)[1].split(":")
    gateway = urllib3.HTTPConnectionPool(host, int(gw_port), maxsize=1)
    json_type = {"Content-Type": "application/json"}
    paths = {
        "direct_endpoint": lambda: direct.urlopen("POST", "/invocations", body=BODY, headers=json_type),
        "through_gateway": lambda: gateway.urlopen(
            "POST", "/v1/models/bench/invocations", body=BODY,
            headers={**json_type, "Authorization": f"Bearer {token}"}),
    }  # fmt: skip
    for _ in range(100):  # warm up: connections, the authorizer's cached answer
        for call in paths.values():
            assert call().status == 200
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(requests):  # interleaved, so load changes hit both paths alike
        for name, call in paths.items():
            started = time.perf_counter()
            answer = call()
            samples[name].append(time.perf_counter() - started)
            assert answer.status == 200 and answer.data == b'{"predictions":[6.0]}', answer.data
    reference_p50, reference_p99 = percentiles(samples["direct_endpoint"])
    p50, p99 = percentiles(samples["through_gateway"])
    emit("gateway.invoke.requests", str(requests))
    emit("gateway.invoke.direct_endpoint.p50_ms", f"{reference_p50:.3f}")
    emit("gateway.invoke.direct_endpoint.p99_ms", f"{reference_p99:.3f}")
    emit("gateway.invoke.through_gateway.p50_ms", f"{p50:.3f}")
    emit("gateway.invoke.through_gateway.p99_ms", f"{p99:.3f}")
    emit("gateway.invoke.added_p50_ms", f"{p50 - reference_p50:.3f}")
    emit("gateway.invoke.p50_ratio_vs_direct", f"{p50 / reference_p50:.2f}")
    emit("gateway.invoke.target_added_p50_ms", "1.0")


def _wrk(url: str, script: Path, connections: int, seconds: float) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx) of one wrk run."""
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
                          capture_output=True, text=True, timeout=seconds + 30, check=True)
    out = done.stdout
    rps = float(out.split("Requests/sec:")[1].split()[0])
    latency = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            value = parts[1]
            unit = 1e-3 if value.endswith("us") else (1e3 if value.endswith("s") and not value.endswith("ms") else 1.0)
            latency[parts[0]] = float(value.rstrip("mus")) * unit
    errors = int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in out else 0
    return rps, latency["50%"], latency["99%"], errors


def gateway_throughput(up: LocalUp, token: str, rounds: int, seconds: float) -> None:
    """wrk against the endpoint process and through the gateway, alternating rounds."""
    import shutil

    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    port = serving_port(up.process.pid)
    with tempfile.TemporaryDirectory() as tmp:
        body = BODY.decode()
        direct = Path(tmp) / "direct.lua"
        direct.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
        gateway = Path(tmp) / "gateway.lua"
        gateway.write_text(direct.read_text() + f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        targets = {"direct_endpoint": (f"http://127.0.0.1:{port}/invocations", direct),
                   "through_gateway": (f"{up.info['api_url']}/v1/models/bench/invocations", gateway)}
        for connections in (1, 8, 64):
            results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in targets}
            for name, (url, script) in targets.items():
                _wrk(url, script, connections, 1.0)  # warm up
            for _ in range(rounds):
                for name, (url, script) in targets.items():
                    results[name].append(_wrk(url, script, connections, seconds))
            medians = {name: [statistics.median(r[i] for r in runs) for i in range(3)] for name, runs in results.items()}
            for name, (rps, p50, p99) in medians.items():
                emit(f"gateway.wrk.c{connections}.{name}.req_per_s", round(rps))
                emit(f"gateway.wrk.c{connections}.{name}.p50_ms", f"{p50:.3f}")
                emit(f"gateway.wrk.c{connections}.{name}.p99_ms", f"{p99:.3f}")
                emit(f"gateway.wrk.c{connections}.{name}.non_2xx", sum(r[3] for r in results[name]))
            ratio = medians["through_gateway"][0] / medians["direct_endpoint"][0]
            emit(f"gateway.wrk.c{connections}.throughput_ratio_vs_direct", f"{ratio:.2f}")
            emit(f"gateway.wrk.c{connections}.added_p50_ms",
                 f"{medians['through_gateway'][1] - medians['direct_endpoint'][1]:.3f}")
    emit("gateway.wrk.target_ratio_at_8_and_64", "0.8")
    emit("gateway.wrk.target_added_p50_ms", "1.0")


def ready_and_gateway(runs: int, requests: int, rounds: int = 5, seconds: float = 4.0) -> None:
    moto_s, _ = fresh(READY_MOTO, runs=runs)
    empty, workflows = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            up = LocalUp(Path(tmp) / "state")
            empty.append(up.start())
            workflows.append(up.workflows_ready)
            up.stop()
    median = statistics.median(empty)
    emit("local_up.ready.bare_moto_reference_ms", round(moto_s * 1e3, 1))
    emit("local_up.ready.empty_state_ms", round(median * 1e3, 1))
    emit("local_up.ready.empty_state_vs_bare_moto", f"{median / moto_s:.2f}")
    emit("local_up.workflows_ready.empty_state_ms", round(statistics.median(workflows) * 1e3, 1))
    with tempfile.TemporaryDirectory() as tmp:
        up = LocalUp(Path(tmp) / "state")
        up.start()
        token = deploy_sum_model(up, Path(tmp))
        gateway_overhead(up, token, requests)
        gateway_throughput(up, token, rounds, seconds)
        up.stop()
        restored = []
        for _ in range(runs):
            ready = up.start()
            http = urllib3.PoolManager()
            while True:  # the deployed endpoint comes back after the API is up
                answer = http.request("POST", f"{up.info['api_url']}/v1/models/bench/invocations", body=BODY,
                                      headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                if answer.status == 200:
                    break
                time.sleep(0.05)
            restored.append((ready, time.perf_counter() - up.spawned_at))
            up.stop()
    emit("local_up.ready.restored_state_ms", round(statistics.median(r for r, _ in restored) * 1e3, 1))
    emit("local_up.ready.restored_endpoint_answers_ms", round(statistics.median(e for _, e in restored) * 1e3, 1))
    emit("local_up.ready.target_ms", "5000")


def demo() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "MOTO_"))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "modelport", "demo", "--exit", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {"ok": False, "steps": []}
    emit("demo.ok", str(report["ok"] and done.returncode == 0).lower())
    emit("demo.wall_s", round(wall, 1))
    for step in report["steps"]:
        emit(f"demo.step_{step['step']:02d}_s", round(step.get("seconds", 0.0), 1))
    emit("demo.target_s", "60")
    emit("demo.wall_vs_target", f"{wall / 60:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh starts per time-to-ready figure")
    parser.add_argument("--requests", type=int, default=1000, help="invocations per path")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="wrk rounds per path and connection count")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk round")
    args = parser.parse_args()
    emit("host.cpus", str(os.cpu_count()))
    emit("host.load_avg_1m_before", f"{os.getloadavg()[0]:.2f}")
    ready_and_gateway(args.runs, args.requests, args.rounds, args.duration)
    if not args.skip_demo:
        demo()
    emit("host.load_avg_1m_after", f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
