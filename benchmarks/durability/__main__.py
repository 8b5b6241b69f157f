"""`python -m benchmarks.durability`: what the embedded AWS's journal costs per write, and
what its compaction (a snapshot) costs, as the state grows; one `name=value` line each.

States, each in a fresh embedded AWS (in this process) on a fresh state directory:

* `empty` — the platform's tables and buckets, nothing in them (the reference);
* `versions_10k`, `versions_20k` — 10,000 (20,000) version records of one model in the
  metadata table (written with BatchWriteItem, as `benchmarks.control_plane` seeds them);
* `artifacts_1g` — 1 GiB of artifacts in S3 (10 objects of 100 MiB).

In each state, side by side in alternating rounds: a control-plane write as the handlers
make it (one TransactWriteItems of a record and its audit event) and a 4 KiB S3 PutObject,
each through the journal (fdatasync before the answer) and, as the second reference, with
journaling off (moto alone behind the same front). Medians of `--writes` per round.
Then a checkpoint (the snapshot that compacts the journal): its duration, the snapshot's
size, and the share of it one write pays (a checkpoint runs when the journal has grown as
large as the snapshot, so a write pays snapshot cost × its record's size / snapshot size).
Last, a restart on the state: restore + replay.

Targets (issue 11): the cost per write does not grow with the state (ratio to `empty` ≈ 1;
a write's share of the checkpoint: ratio 20k to 10k ≈ 1, since below the compaction
threshold the snapshot is small and the share smaller still).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.local.__main__ import emit
from modelport.local.settings import LocalSettings

TABLE, AUDIT, BUCKET = "bench-meta", "bench-audit", "bench-artifacts"


def settings(state: Path, fsync: bool):
    return LocalSettings(state_dir=state, snapshot_interval_s=0, fsync=fsync, journal_compact_bytes=1 << 40)


def create(aws) -> None:
    from functions.adapters.schema import AUDIT as AUDIT_SCHEMA
    from functions.adapters.schema import METADATA

    ddb = aws.client("dynamodb")
    ddb.create_table(**METADATA.create_table_kwargs(TABLE))
    ddb.create_table(**AUDIT_SCHEMA.create_table_kwargs(AUDIT))
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def seed(aws, state: str) -> None:
    if state.startswith("versions_"):
        from benchmarks.control_plane.requests import seed_versions
        from functions.adapters.dynamodb import DynamoStore
        from functions.core import registry
        from functions.core.models import NewModel, system_actor
        from functions.core.ports import Context, Deps

        store = DynamoStore(aws.client("dynamodb"), TABLE, AUDIT)
        registry.create_model(Deps(store=store, audit=store, artifacts=None),  # type: ignore[arg-type]
                              Context(actor=system_actor("bench"), request_id="bench"),
                              NewModel(name="big", owner="bench", framework="onnx"))
        seed_versions(aws.client("dynamodb"), TABLE, "big", int(state.split("_")[1].rstrip("k")) * 1000)
    elif state == "artifacts_1g":
        s3 = aws.client("s3")
        block = os.urandom(100 << 20)
        for i in range(10):
            s3.put_object(Bucket=BUCKET, Key=f"models/big/{i}.0.0/model.tar.gz", Body=block[i:] + block[:i])


def transact(aws, i: int) -> None:
    """What one control-plane change writes: the record, the audit event, the head."""
    ddb = aws.client("dynamodb")
    data = json.dumps({"kind": "deployment", "id": str(i), "notes": ["x" * 600]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "MODEL#bench"}, "SK": {"S": f"DEPLOY#{i:08d}"},
                                               "kind": {"S": "deployment"}, "data": {"S": data}}}},
        {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "MODEL#bench"}, "SK": {"S": "META"}},
                    "UpdateExpression": "SET chain_seq = :s", "ExpressionAttributeValues": {":s": {"N": str(i)}}}},
        {"Put": {"TableName": AUDIT, "Item": {"PK": {"S": "CHAIN#bench"}, "SK": {"S": f"{i:012d}"},
                                               "hash": {"S": hashlib.sha256(str(i).encode()).hexdigest()}}}},
    ])


def small_put(aws, i: int) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"captures/{i}.jsonl", Body=os.urandom(4096))


def timed(action, aws, count: int, offset: int) -> float:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        action(aws, offset + i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(state: str, writes: int, rounds: int) -> dict[str, float]:
    from modelport.local.aws import EmbeddedAWS

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-durability-") as tmp:
        aws = EmbeddedAWS(settings(Path(tmp) / "state", fsync=True)).start()
        try:
            create(aws)
            started = time.perf_counter()
            seed(aws, state)
            figures["seed_s"] = time.perf_counter() - started
            durable = aws.durable
            durable.checkpoint()  # the state is in the snapshot; the journal holds what follows
            samples: dict[str, list[float]] = {k: [] for k in ("transact", "put", "transact_off", "put_off")}
            offset = 0
            for _ in range(rounds):
                for name, action in (("transact", transact), ("put", small_put)):
                    samples[name].append(timed(action, aws, writes, offset))
                    offset += writes
                    durable._journaling = False  # the reference: moto behind the same front, no journal
                    try:
                        samples[f"{name}_off"].append(timed(action, aws, writes, offset))
                    finally:
                        durable._journaling = True
                    offset += writes
            for name, values in samples.items():
                figures[f"{name}_ms"] = statistics.median(values) * 1e3
            figures["journal_bytes_per_write"] = durable.log.bytes_in_segment / (rounds * writes * 2)
            checkpoints = []
            for _ in range(3):
                durable.checkpoint()
                checkpoints.append(durable.last_checkpoint_s)
            figures["checkpoint_s"] = statistics.median(checkpoints)
            figures["snapshot_bytes"] = float(durable.snapshot_bytes)
            # a checkpoint runs once the journal is as large as the snapshot (at least the default
            # threshold): one write's share of it
            threshold = max(figures["snapshot_bytes"], LocalSettings().journal_compact_bytes)
            share = figures["journal_bytes_per_write"] / threshold
            figures["checkpoint_share_per_write_us"] = figures["checkpoint_s"] * share * 1e6
        finally:
            aws.stop(snapshot=False)
        aws = EmbeddedAWS(settings(Path(tmp) / "state", fsync=True))
        started = time.perf_counter()
        aws.start()
        figures["restart_s"] = time.perf_counter() - started
        aws.stop(snapshot=False)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100, help="writes per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--states", nargs="+", default=["empty", "versions_10k", "versions_20k", "artifacts_1g"])
    args = parser.parse_args()
    emit("host.cpus", str(os.cpu_count()))
    emit("host.load_avg_1m_before", f"{os.getloadavg()[0]:.2f}")
    results = {}
    for state in args.states:
        results[state] = measure(state, args.writes, args.rounds)
        for name, value in results[state].items():
            emit(f"durability.{state}.{name}", f"{value:.3f}" if value < 1e6 else f"{value:.0f}")
    for state in [s for s in args.states if s != "empty" and "empty" in results]:
        for name in ("transact_ms", "put_ms", "restart_s"):
            ratio = results[state][name] / max(results["empty"][name], 1e-9)
            emit(f"durability.{state}.{name.rsplit('_', 1)[0]}_vs_empty", f"{ratio:.2f}")
    if "versions_10k" in results and "versions_20k" in results:
        for name in ("transact_ms", "checkpoint_share_per_write_us", "checkpoint_s"):
            ratio = results["versions_20k"][name] / max(results["versions_10k"][name], 1e-9)
            emit(f"durability.versions_20k.{name.rsplit('_', 1)[0]}_vs_10k", f"{ratio:.2f}")
    for state, figures in results.items():
        emit(f"durability.{state}.journal_overhead_transact_ms", f"{figures['transact_ms'] - figures['transact_off_ms']:.3f}")
        emit(f"durability.{state}.journal_overhead_put_ms", f"{figures['put_ms'] - figures['put_off_ms']:.3f}")
    emit("durability.target_vs_empty", "1.0 (does not grow with the state)")
    emit("host.load_avg_1m_after", f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
