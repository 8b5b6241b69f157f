"""DynamoDB requests per use case, counted with botocore event hooks, at 10 and 10,000 versions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3

from functions.adapters.dynamodb import DynamoStore, _item
from functions.adapters.s3 import S3Artifacts
from functions.core import governance, history, registry, serving
from functions.core.models import (
    Artifact,
    Model,
    ModelVersion,
    NewModel,
    NewVersion,
    Principal,
    Role,
    system_actor,
)
from functions.core.periods import AliasPeriod
from functions.core.ports import Context, Deps, utcnow
from functions.core.semver import SemVer

SHA = "ab" * 32


class RequestCounter:
    """Counts every DynamoDB API call a client makes, by operation name."""

    def __init__(self, client) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model, **_kwargs) -> None:
        self.calls[model.name] += 1

    def measure(self, action) -> Counter[str]:
        self.calls.clear()
        action()
        return Counter(self.calls)


def seed_versions(client, table: str, model: str, count: int) -> None:
    """Write `count` versions with BatchWriteItem (25 per request) and point the model at the last."""
    now = datetime.now(UTC)
    records = []
    for i in range(count):
        number = SemVer(1 + i // 1000, (i // 10) % 100, i % 10)
        artifact = Artifact(uri=f"s3://b/models/{model}/{number}/model.tar.gz", sha256=SHA, size=1)
        records.append(
            ModelVersion(
                model=model,
                version=str(number),
                artifact=artifact,
                framework="onnx",
                created_at=now,
                created_by="seed",
            )
        )
    for start in range(0, len(records), 25):
        batch = [{"PutRequest": {"Item": _item(r)}} for r in records[start : start + 25]]
        while batch:
            unprocessed = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {})
            batch = unprocessed.get(table, [])
    head = client.get_item(TableName=table, Key={"PK": {"S": f"MODEL#{model}"}, "SK": {"S": "META"}})["Item"]
    current = Model.model_validate_json(head["data"]["S"])
    updated = current.model_copy(update={"latest_version": records[-1].version, "version_count": count})
    item = _item(updated)
    item["chain_seq"], item["chain_hash"] = head["chain_seq"], head["chain_hash"]
    client.put_item(TableName=table, Item=item)


#: when the seeded production history starts; period i lasts [T0 + i h, T0 + (i+1) h).
HISTORY_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def seed_history(client, table: str, model: str, count: int) -> None:
    """`count` contiguous hour-long production periods, written with BatchWriteItem."""
    periods = [
        AliasPeriod(model=model, alias="production", version="1.0.0", endpoint="ep", moved_by="seed",
                    start=HISTORY_T0 + timedelta(hours=i),
                    end=HISTORY_T0 + timedelta(hours=i + 1) if i < count - 1 else None,
                    deployment_id=f"d{i}", opened_seq=10_000 + i)
        for i in range(count)
    ]  # fmt: skip
    for start in range(0, len(periods), 25):
        batch = [{"PutRequest": {"Item": _item(p)}} for p in periods[start : start + 25]]
        while batch:
            unprocessed = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {})
            batch = unprocessed.get(table, [])


def _expect(found: AliasPeriod | None, deployment: str) -> None:
    """A count is only worth something if the answer is right."""
    if found is None or found.deployment_id != deployment:
        raise AssertionError(f"history_at found {found!r}, expected the period of {deployment}")


def _operations(deps: Deps, ctx: Context, name: str, middle: str, periods: int) -> dict:
    inside = HISTORY_T0 + timedelta(hours=periods // 2, minutes=30)
    return {
        "resolve_exact": lambda: registry.resolve(deps, ctx, name, middle),
        "resolve_partial": lambda: registry.resolve(deps, ctx, name, "1.x"),
        "resolve_latest": lambda: registry.resolve(deps, ctx, name, "latest"),
        "resolve_alias": lambda: registry.resolve(deps, ctx, name, "staging"),
        "list_versions_page": lambda: registry.list_versions(deps, ctx, name, limit=50),
        "list_models_page": lambda: registry.list_models(deps, ctx, limit=50),
        "publish_bump": lambda: registry.publish_version(deps, ctx, name, NewVersion(bump="patch", sha256=SHA, size=1)),
        "publish_explicit": lambda: registry.publish_version(
            deps, ctx, name, NewVersion(version="99.0.0", sha256=SHA, size=1)
        ),
        "route_inference_alias": lambda: serving.route_inference(deps, ctx, name, "staging"),
        "route_inference_spec": lambda: serving.route_inference(deps, ctx, name, middle),
        "history_at": lambda: _expect(history.served_at(deps, ctx, name, "production", inside), f"d{periods // 2}"),
        "history_page": lambda: history.list_history(deps, ctx, name, "production", limit=50),
        # the head, the version and the alias, then one transaction: alias, periods, event, head
        "alias_move": lambda: governance.set_alias(deps, ctx, name, "canary", middle, deployment_id="bench"),
    }


def run(endpoint: str, table: str, audit: str, bucket: str) -> list[tuple[str, object]]:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    counter = RequestCounter(client)
    store = DynamoStore(client, table, audit)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    deps = Deps(store=store, audit=store, artifacts=S3Artifacts(s3, bucket, clock=utcnow))
    ctx = Context(actor=Principal(id="bench", roles=frozenset({Role.admin})), request_id="bench")
    system = Context(actor=system_actor("bench"), request_id="bench")
    lines: list[tuple[str, object]] = []
    for count in (10, 10_000):
        lines.append((f"history_periods.versions_{count}", max(2, count // 10)))
        name = f"bench-{count}"
        registry.create_model(deps, ctx, NewModel(name=name, owner="bench", framework="onnx"))
        seed_versions(client, table, name, count)
        middle = str(SemVer(1, 0, 5))
        governance.set_alias(deps, system, name, "staging", middle, endpoint=f"mp-bench-{name}-staging")
        periods = max(2, count // 10)  # 2 and 1,000 production periods
        seed_history(client, table, name, periods)
        operations = _operations(deps, ctx, name, middle, periods)
        for label, action in operations.items():
            calls = counter.measure(action)
            for operation, n in sorted(calls.items()):
                lines.append((f"ddb.{label}.versions_{count}.{operation}", n))
            lines.append((f"ddb.{label}.versions_{count}.total", sum(calls.values())))
    lines += _authentication(deps, counter, ctx)
    return lines


def _authentication(deps: Deps, counter: RequestCounter, ctx: Context) -> list[tuple[str, object]]:
    """Requests of one authentication: the key's GetItem, plus the sampled `last_used_at`
    write (one conditional UpdateItem) only when the last sample is an hour old."""
    from functions.core import apikeys
    from functions.core.models import NewKey

    created = apikeys.create_key(deps, ctx, NewKey(owner="bench-auth", roles=["consumer"]))
    header = f"Bearer {created.token}"
    lines: list[tuple[str, object]] = []
    for label in ("authenticate_first_use", "authenticate_again"):
        calls = counter.measure(lambda: apikeys.authenticate(deps, header))
        for operation, n in sorted(calls.items()):
            lines.append((f"ddb.{label}.{operation}", n))
        lines.append((f"ddb.{label}.total", sum(calls.values())))
    return lines
