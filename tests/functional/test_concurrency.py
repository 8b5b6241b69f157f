"""50 threads publish at once against a moto server: no duplicates, no lost updates."""

import itertools
import random
import threading
import time
import uuid
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config

from functions.adapters.dynamodb import DynamoStore
from functions.adapters.s3 import S3Artifacts
from functions.core import auditing, registry
from functions.core.errors import VersionConflict
from functions.core.models import NewModel, NewVersion
from functions.core.ports import Deps, utcnow
from functions.core.semver import SemVer
from tests.unit.conftest import ctx_for


@pytest.fixture
def server_deps(serial_moto_server):
    suffix = uuid.uuid4().hex[:8]
    # moto ignores ClientRequestToken, so an SDK retry after a timeout would run a
    # transaction twice; give the single-threaded server time instead of retrying.
    patient = Config(read_timeout=600, retries={"total_max_attempts": 1})
    dynamodb = boto3.client("dynamodb", endpoint_url=serial_moto_server, config=patient)
    s3 = boto3.client("s3", endpoint_url=serial_moto_server)
    from functions.adapters import schema

    table, audit, bucket = f"meta-{suffix}", f"audit-{suffix}", f"artifacts-{suffix}"
    schema.create_tables(dynamodb, table_name=table, audit_table_name=audit)
    s3.create_bucket(Bucket=bucket)
    store = DynamoStore(dynamodb, table, audit)
    rng = random.Random(7)
    lock = threading.Lock()

    def jitter() -> float:
        with lock:
            return rng.random()

    return Deps(
        store=store, audit=store, artifacts=S3Artifacts(s3, bucket, clock=utcnow),
        sleep=time.sleep, jitter=jitter, retry_attempts=200,
    )  # fmt: skip


def test_fifty_concurrent_publishers(server_deps):
    deps = server_deps
    ctx = ctx_for("publisher")
    registry.create_model(deps, ctx, NewModel(name="hot", owner="o", framework="onnx"))
    # 30 threads race in pairs for 15 explicit versions; 20 threads bump the major version.
    jobs = [NewVersion(version=f"0.1.{i // 2}", sha256="ab" * 32, size=1) for i in range(30)]
    jobs += [NewVersion(bump="major", sha256="ab" * 32, size=1) for _ in range(20)]
    results: list[str] = []
    conflicts: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: NewVersion) -> None:
        try:
            start.wait()
            published = registry.publish_version(deps, ctx, "hot", job)
            results.append(published.version.version)
        except VersionConflict as conflict:
            conflicts.append(str(conflict))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(conflicts) == 15 and all("already exists" in c for c in conflicts), (sorted(results), conflicts)
    assert len(results) == len(set(results)) == 35
    expected = {f"0.1.{k}" for k in range(15)} | {f"{m}.0.0" for m in range(1, 21)}
    assert set(results) == expected
    stored, cursor = [], None
    while True:
        page = registry.list_versions(deps, ctx, "hot", limit=100, cursor=cursor)
        stored += [v.version for v in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(stored, key=SemVer.parse) == sorted(expected, key=SemVer.parse)
    model = registry.get_model(deps, ctx, "hot")
    assert (model.version_count, model.latest_version) == (35, "20.0.0")
    result = auditing.verify(deps, ctx_for("admin"), "hot")
    assert result.ok and result.events == 36, result


def test_fifty_concurrent_alias_moves_leave_a_history_without_overlaps(server_deps):
    from functions.core import governance, history
    from functions.core.models import ModelPolicy

    deps = server_deps
    ctx = ctx_for("publisher")
    registry.create_model(deps, ctx_for("admin"), NewModel(name="moves", owner="o", framework="onnx",
                                              policy=ModelPolicy(require_approval=False)))
    versions = [f"1.{i}.0" for i in range(5)]
    for v in versions:
        registry.publish_version(deps, ctx, "moves", NewVersion(version=v, sha256="ab" * 32, size=1))
    jobs = [(versions[i % 5], f"d{i:02d}") for i in range(50)]
    moved: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(version: str, deployment: str) -> None:
        try:
            start.wait()
            governance.set_alias(deps, ctx, "moves", "production", version, endpoint="mp-ep", deployment_id=deployment)
            moved.append(deployment)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(moved) == 50
    periods, cursor = [], None
    while True:
        page = history.list_history(deps, ctx, "moves", "production", limit=20, cursor=cursor)
        periods += page.items
        cursor = page.cursor
        if cursor is None:
            break
    periods.reverse()  # oldest first
    # every move was a deployment of its own, so each opened exactly one period
    assert sorted(p.deployment_id for p in periods) == sorted(d for _, d in jobs)
    for earlier, later in itertools.pairwise(periods):
        assert earlier.end == later.start, (earlier, later)  # contiguous: no gap, no overlap
        assert earlier.start <= earlier.end and earlier.closed_seq == later.opened_seq
    assert periods[-1].end is None and sum(p.end is None for p in periods) == 1
    alias = governance.list_aliases(deps, ctx, "moves")[0]
    assert (alias.version, alias.period) == (periods[-1].version, periods[-1])
    for p in periods[:-1]:
        if p.start < p.end:  # (a period that two moves in one microsecond closed at once covers nothing)
            found = history.served_at(deps, ctx, "moves", "production", p.end - timedelta(microseconds=1))
            assert found == p
    result = auditing.verify(deps, ctx_for("admin"), "moves")
    assert result.ok and result.events == 1 + 5 + 50, result
