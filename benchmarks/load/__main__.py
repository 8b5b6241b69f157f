"""`python -m benchmarks.load`: `modelport local up` under 64 concurrent clients for 60 s,
mixing control-plane reads and writes with inference through the local gateway (issue 11).

Each client loops, picking by weight: inference (`POST /v1/models/bench/invocations`),
a read (a model listing, one model, a version listing) or a write (a new model, or a new
version of one of a few shared models: those contend on the model's audit chain). Every
answer is timed by kind; afterwards the platform is asked what it holds, and the writes
it acknowledged are counted there:

* `load.status_5xx` — must be 0;
* `load.lost_writes` / `load.duplicated_writes` — acknowledged models and versions missing
  from, or present more than once in, the registry and its audit log: must be 0;
* `load.<kind>.p50_ms|p99_ms|per_s`.

`--seconds`, `--clients` change the run; the platform runs in its own process.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import urllib3

from benchmarks.local.__main__ import emit
from benchmarks.local.platform import BODY, LocalUp, deploy_sum_model

SHARED = [f"shared-{i}" for i in range(4)]
WEIGHTS = {"inference": 40, "read": 40, "write_model": 10, "write_version": 10}
SHA = hashlib.sha256(b"load").hexdigest()


class Client(threading.Thread):
    def __init__(self, url: str, admin: str, consumer: str, stop: threading.Event, seed: int, run: str) -> None:
        super().__init__(daemon=True)
        self.url, self.admin, self.consumer, self.stop, self.run_id = url, admin, consumer, stop, run
        self.rng = random.Random(seed)
        self.http = urllib3.PoolManager(maxsize=2, retries=False, timeout=urllib3.Timeout(connect=5, read=60))
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.acked_models: list[str] = []
        self.acked_versions: list[tuple[str, str]] = []
        self.errors: list[str] = []

    def call(self, kind: str, method: str, path: str, token: str, body: bytes | None = None) -> urllib3.BaseHTTPResponse | None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            answer = self.http.request(method, self.url + path, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            self.statuses[(kind, 0)] += 1
            self.errors.append(f"{kind}: {exc}")
            return None
        self.samples[kind].append(time.perf_counter() - started)
        self.statuses[(kind, answer.status)] += 1
        if answer.status >= 500 and len(self.errors) < 20:
            self.errors.append(f"{kind} {method} {path}: {answer.status} {answer.data[:200]!r}")
        return answer

    def run(self) -> None:
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        import orjson

        while not self.stop.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "inference":
                self.call(kind, "POST", "/v1/models/bench/invocations", self.consumer, BODY)
            elif kind == "read":
                path = self.rng.choice(["/v1/models?limit=20", f"/v1/models/{self.rng.choice(SHARED)}",
                                        f"/v1/models/{self.rng.choice(SHARED)}/versions?limit=10"])
                self.call(kind, "GET", path, self.admin)
            elif kind == "write_model":
                name = f"load-{self.run_id}-{uuid.uuid4().hex[:10]}"
                body = orjson.dumps({"name": name, "owner": "load", "framework": "onnx"})
                answer = self.call(kind, "POST", "/v1/models", self.admin, body)
                if answer is not None and answer.status == 201:
                    self.acked_models.append(name)
            else:
                model = self.rng.choice(SHARED)
                body = orjson.dumps({"bump": "patch", "sha256": SHA, "size": 4})
                answer = self.call(kind, "POST", f"/v1/models/{model}/versions", self.admin, body)
                if answer is not None and answer.status == 201:
                    self.acked_versions.append((model, orjson.loads(answer.data)["version"]["version"]))


def listing(http: urllib3.PoolManager, url: str, path: str, token: str) -> list[dict]:
    import orjson

    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        answer = http.request("GET", url + path + (f"{sep}cursor={cursor}" if cursor else ""),
                              headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 200, answer.data
        page = orjson.loads(answer.data)
        items += page["items"]
        cursor = page.get("cursor")
        if not cursor:
            return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()
    emit("host.cpus", str(os.cpu_count()))
    emit("host.load_avg_1m_before", f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        up = LocalUp(Path(tmp) / "state")
        up.start()
        try:
            consumer = deploy_sum_model(up, Path(tmp))
            url, admin = up.info["api_url"], up.info["admin_key"]
            http = urllib3.PoolManager()
            for name in SHARED:
                created = http.request("POST", url + "/v1/models", headers={"Authorization": f"Bearer {admin}"},
                                       json={"name": name, "owner": "load", "framework": "onnx"})
                assert created.status == 201, created.data
            run_id = uuid.uuid4().hex[:6]
            stop = threading.Event()
            clients = [Client(url, admin, consumer, stop, seed, run_id) for seed in range(args.clients)]
            started = time.perf_counter()
            for client in clients:
                client.start()
            time.sleep(args.seconds)
            stop.set()
            for client in clients:
                client.join(timeout=120)
            elapsed = time.perf_counter() - started
            statuses = sum((c.statuses for c in clients), Counter())
            for kind in WEIGHTS:
                samples = sorted(s for c in clients for s in c.samples[kind])
                if not samples:
                    continue
                emit(f"load.{kind}.requests", str(len(samples)))
                emit(f"load.{kind}.per_s", f"{len(samples) / elapsed:.1f}")
                emit(f"load.{kind}.p50_ms", f"{statistics.median(samples) * 1e3:.2f}")
                emit(f"load.{kind}.p99_ms", f"{samples[max(0, int(len(samples) * 0.99) - 1)] * 1e3:.2f}")
                emit(f"load.{kind}.statuses", " ".join(f"{code}:{n}" for (k, code), n in sorted(statuses.items()) if k == kind))
            emit("load.status_5xx", str(sum(n for (_, code), n in statuses.items() if code >= 500)))
            emit("load.transport_errors", str(sum(n for (_, code), n in statuses.items() if code == 0)))
            for client in clients:
                for error in client.errors[:3]:
                    emit("load.error_example", error)
            # what the platform holds: every acknowledged write, once
            acked_models = Counter(m for c in clients for m in c.acked_models)
            acked_versions = Counter(v for c in clients for v in c.acked_versions)
            held = Counter(m["name"] for m in listing(http, url, "/v1/models?limit=100", admin)
                           if m["name"].startswith(f"load-{run_id}-"))
            versions = Counter((name, v["version"]) for name in SHARED
                               for v in listing(http, url, f"/v1/models/{name}/versions?limit=100", admin))
            audit = Counter()
            for name in SHARED:
                events = listing(http, url, f"/v1/audit?chain={name}&limit=100", admin)
                audit.update((name, e["target"].split("@", 1)[-1]) for e in events if e["action"] == "version.publish")
            lost = sum(1 for m in acked_models if held[m] == 0) + sum(1 for v in acked_versions if versions[v] == 0)
            duplicated = (sum(1 for m, n in held.items() if n > 1) + sum(1 for v, n in versions.items() if n > 1)
                          + sum(1 for v, n in acked_versions.items() if n > 1)
                          + sum(1 for v in acked_versions if audit.get(v, 0) > 1))
            emit("load.acknowledged_models", str(sum(acked_models.values())))
            emit("load.acknowledged_versions", str(sum(acked_versions.values())))
            emit("load.lost_writes", str(lost))
            emit("load.duplicated_writes", str(duplicated))
            verified = http.request("GET", url + "/v1/audit/verify", headers={"Authorization": f"Bearer {admin}"})
            emit("load.audit_verifies", str(verified.status == 200 and b'"ok":true' in verified.data.replace(b" ", b"")).lower())
        finally:
            up.stop()
    emit("load.targets", "status_5xx=0 lost_writes=0 duplicated_writes=0")
    emit("host.load_avg_1m_after", f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
