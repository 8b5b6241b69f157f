"""The capture indexer (`functions.monitoring.indexer.index_file`): it records the captured
inference ids of models whose policy collects ground truth, and of no other; a policy
changed since is seen once the cached owner expires. Capture files in moto's S3."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import orjson
import pytest

from functions.adapters.monitoring import CaptureBucket
from functions.core.endpoints import EndpointClaim
from functions.core.models import Model, ModelPolicy, NewModel
from functions.core.monitoring_policy import MonitoringPolicy
from functions.core.registry import create_model
from functions.monitoring import indexer

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
BUCKET = "mp-test-captures"


class MemoryIndex:
    def __init__(self) -> None:
        self.items: dict = {}

    def index(self, items):
        self.items.update({item.inference_id: item for item in items})


def capture_file(s3, endpoint: str, ids: list[str]) -> str:
    key = f"{endpoint}/{endpoint}/AllTraffic/2026/03/01/12/capture-1.jsonl"
    lines = [orjson.dumps({
        "captureData": {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                                          "data": '{"instances": [[1, 2]]}', "encoding": "JSON"}},
        "eventMetadata": {"eventId": f"e-{i}", "inferenceId": i, "inferenceTime": "2026-03-01T12:00:01Z"},
        "eventVersion": "0"}) for i in ids]  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(lines))
    return key


@pytest.fixture
def env(aws, deps, publisher):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, on in (("labelled", True), ("unlabelled", False)):
        create_model(deps, publisher, NewModel(name=name, owner="alice", framework="sklearn",
                                               policy=ModelPolicy(monitoring=MonitoringPolicy(ground_truth=on))))
        claim = EndpointClaim.new(f"mp-{name}", name, "production", stage="test", by="k", at=AT)
        deps.store.items[claim.key] = {"data": claim.model_dump(mode="json"), "index": None}
    return indexer.IndexerEnv(settings=None, deps=deps, index=MemoryIndex(), captures=CaptureBucket(s3, BUCKET))


def test_only_models_collecting_ground_truth_are_indexed(env):
    s3 = env.captures._s3
    assert indexer.index_file(env, capture_file(s3, "mp-labelled", ["a", "b"])) == 2
    assert indexer.index_file(env, capture_file(s3, "mp-unlabelled", ["u"])) == 0
    assert sorted(env.index.items) == ["a", "b"]
    a = env.index.items["a"]
    assert (a.model, a.alias, a.variant, a.time) == ("labelled", "production", "AllTraffic", AT.replace(second=1))
    assert a.expires_at == int(AT.replace(second=1).timestamp()) + 90 * 86400  # label_days


def test_a_policy_that_turns_ground_truth_on_is_seen_after_the_cache_expires(env, monkeypatch):
    s3 = env.captures._s3
    assert indexer.index_file(env, capture_file(s3, "mp-unlabelled", ["u1"])) == 0
    key = Model.key_for("unlabelled")
    item = env.deps.store.items[key]
    item["data"]["policy"]["monitoring"]["ground_truth"] = True
    assert indexer.index_file(env, capture_file(s3, "mp-unlabelled", ["u2"])) == 0  # still cached
    monkeypatch.setattr(indexer, "OWNER_TTL_S", -1.0)
    assert indexer.index_file(env, capture_file(s3, "mp-unlabelled", ["u3"])) == 1
    assert sorted(env.index.items) == ["u3"]
