"""`python -m benchmarks.local`: time to ready of the embedded AWS and local SageMaker,
endpoint start times and the local invocation path; one `name=value` line per figure.

See README.md. Each time-to-ready figure is measured in a fresh interpreter (import
included), next to bare moto (`ThreadedMotoServer`) measured the same way in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: fresh interpreter: import, start, first answered request; prints seconds.
READY_LOCAL = """
import sys, time
t = time.perf_counter()
from pathlib import Path
from modelport.local.cloud import LocalCloud
from modelport.local.testing import client, settings_for
cloud = LocalCloud(settings_for(Path(sys.argv[1]))).start()
client(cloud, "dynamodb").list_tables()
print(time.perf_counter() - t, cloud.aws.ready_s)
cloud.stop()
"""
READY_MOTO = """
import time
t = time.perf_counter()
import boto3
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
             aws_access_key_id="x", aws_secret_access_key="x").list_tables()
print(time.perf_counter() - t, 0)
server.stop()
"""


def emit(name: str, value: float | str) -> None:
    print(f"{name}={value:.1f}" if isinstance(value, float) else f"{name}={value}", flush=True)


def fresh(script: str, *args: str, runs: int = 3) -> tuple[float, float]:
    """Median (total seconds, embedded-AWS start seconds) over `runs` fresh interpreters."""
    totals, starts = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
        totals.append(float(out[0]))
        starts.append(float(out[1]))
    return statistics.median(totals), statistics.median(starts)


def populate(state_dir: Path) -> dict[str, int]:
    """A state directory holding a modest platform's worth of data, via a snapshot."""
    from modelport.local.testing import client, local_cloud

    with local_cloud(state_dir) as cloud:
        ddb, s3, sqs = client(cloud, "dynamodb"), client(cloud, "s3"), client(cloud, "sqs")
        ddb.create_table(TableName="meta", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                    {"AttributeName": "SK", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                               {"AttributeName": "SK", "AttributeType": "S"}])
        for start in range(0, 1000, 25):
            ddb.batch_write_item(RequestItems={"meta": [
                {"PutRequest": {"Item": {"PK": {"S": f"MODEL#m{i % 20}"}, "SK": {"S": f"V#{i:05}"},
                                         "blob": {"S": "x" * 200}}}} for i in range(start, start + 25)]})
        s3.create_bucket(Bucket="artifacts")
        for i in range(50):
            s3.put_object(Bucket="artifacts", Key=f"models/m{i}/model.tar.gz", Body=os.urandom(100_000))
        for i in range(5):
            sqs.create_queue(QueueName=f"queue-{i}")
    return {"items": 1000, "objects": 50, "object_bytes": 100_000, "queues": 5}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e3, ordered[int(len(ordered) * 0.99) - 1] * 1e3


def endpoints_and_invocations() -> None:
    from modelport.local.testing import client, deploy_python_model, local_cloud, wait_endpoint

    with tempfile.TemporaryDirectory() as tmp, local_cloud(Path(tmp) / "state") as cloud:
        sm, s3 = client(cloud, "sagemaker"), client(cloud, "s3")
        s3.create_bucket(Bucket="bench")
        for count in (1, 3):
            times = []
            for run in range(3):
                config = deploy_python_model(cloud, "bench", f"m{count}-{run}", Path(tmp), count=count)
                started = time.perf_counter()
                sm.create_endpoint(EndpointName=f"e{count}-{run}", EndpointConfigName=config)
                assert wait_endpoint(sm, f"e{count}-{run}", 120)["EndpointStatus"] == "InService"
                times.append(time.perf_counter() - started)
            emit(f"endpoint.create.instances_{count}.median_ms", statistics.median(times) * 1e3)
        updates = []
        for run in range(3):
            config = deploy_python_model(cloud, "bench", f"green-{run}", Path(tmp), offset=run)
            started = time.perf_counter()
            sm.update_endpoint(EndpointName="e1-0", EndpointConfigName=config)
            assert wait_endpoint(sm, "e1-0", 120)["EndpointConfigName"] == config
            updates.append(time.perf_counter() - started)
        emit("endpoint.update_blue_green.instances_1.median_ms", statistics.median(updates) * 1e3)

        runtime_client = client(cloud, "sagemaker-runtime")
        instance = cloud.sagemaker.endpoints.runtime("e1-0").blue.fleets["AllTraffic"].instances[0]
        body, headers = b"[[1.0, 2.0, 3.0]]", {"Content-Type": "application/json"}
        paths = {
            "direct_container": lambda: instance.pool.urlopen("POST", "/invocations", body=body,
                                                               headers=headers).data,
            "local_sagemaker_in_process": lambda: cloud.sagemaker.invoke(
                "e1-0", body, content_type="application/json").body,
            "boto3_through_front": lambda: runtime_client.invoke_endpoint(
                EndpointName="e1-0", Body=body, ContentType="application/json")["Body"].read(),
        }
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(50):  # warm up every path
            for call in paths.values():
                call()
        for _ in range(500):  # interleaved, so load changes hit all paths alike
            for name, call in paths.items():
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
        reference = percentiles(samples["direct_container"])[0]
        for name, values in samples.items():
            p50, p99 = percentiles(values)
            print(f"invoke.{name}.p50_ms={p50:.3f}", f"invoke.{name}.p99_ms={p99:.3f}",
                  f"invoke.{name}.added_p50_ms={p50 - reference:.3f}", sep="\n", flush=True)


def main() -> None:
    emit("host.cpus", str(os.cpu_count()))
    with tempfile.TemporaryDirectory() as empty:
        total, start = fresh(READY_LOCAL, empty)
        moto_total, _ = fresh(READY_MOTO)
    emit("ready.bare_moto.fresh_interpreter_ms", moto_total * 1e3)
    emit("ready.local_cloud.empty_state.fresh_interpreter_ms", total * 1e3)
    emit("ready.local_cloud.empty_state.embedded_aws_start_ms", start * 1e3)
    emit("ready.local_cloud.empty_state.vs_bare_moto", f"{total / moto_total:.2f}")
    with tempfile.TemporaryDirectory() as full:
        sizes = populate(Path(full))
        emit("ready.restore.contents", json.dumps(sizes, separators=(",", ":")))
        total, start = fresh(READY_LOCAL, full)
    emit("ready.local_cloud.restored_state.fresh_interpreter_ms", total * 1e3)
    emit("ready.local_cloud.restored_state.embedded_aws_start_ms", start * 1e3)
    endpoints_and_invocations()
    emit("host.load_avg_1m_after", f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
