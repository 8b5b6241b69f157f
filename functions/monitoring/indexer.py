"""Lambda `capture indexer`: SQS batches of S3 notifications of new capture files → one
`INFER#<inference id>` item per captured request (model, alias, endpoint, time), so that
labels posted later can be checked against what was really captured.

A capture key is `<endpoint>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` (the deploy
workflow's DestinationS3Uri is `s3://<captures>/<endpoint>`); the endpoint's claim says
which model and alias it serves. Items expire (DynamoDB TTL) `label_days` after the
inference (the model's policy). Keys outside the layout (e.g. `monitoring/` reports),
endpoints nobody claimed, models whose policy does not collect ground truth
(`monitoring.ground_truth`) and requests without an inference id are skipped and logged;
indexing the same file twice writes the same items. A message that is not an S3
notification fails (partial batch failure) and reaches the DLQ after its retries.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.adapters.feedback import DynamoFeedback
from functions.adapters.monitoring import CaptureBucket
from functions.adapters.s3_notifications import s3_event
from functions.adapters.wiring import build_deps, client
from functions.core.endpoints import EndpointClaim
from functions.core.feedback import CapturedInference
from functions.core.models import Model
from functions.core.ports import Deps
from functions.monitoring.settings import IndexerSettings
from functions.workflows.wiring import once

logger = Logger(service="capture-indexer")
processor = BatchProcessor(event_type=EventType.SQS)
#: how long a warm indexer trusts what it read of an endpoint's model policy.
OWNER_TTL_S = 60.0
#: `<endpoint>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`
CAPTURE_KEY = re.compile(r"^(?P<endpoint>[^/]+)/(?P=endpoint)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+\.jsonl$")


@dataclass(frozen=True)
class IndexerEnv:
    settings: IndexerSettings
    deps: Deps
    index: DynamoFeedback
    captures: CaptureBucket
    #: endpoint → (its claim and its model's label policy, or None; when it was read)
    owners: dict[str, tuple[Owner | None, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    claim: EndpointClaim
    ground_truth: bool
    label_days: int


@once
def indexer_env() -> IndexerEnv:
    settings = IndexerSettings()  # type: ignore[call-arg] - from the environment
    return IndexerEnv(settings=settings, deps=build_deps(settings, client),
                      index=DynamoFeedback(client("dynamodb"), settings.table_name),
                      captures=CaptureBucket(client("s3"), settings.captures_bucket))


def handle_message(record: SQSRecord) -> None:
    event = s3_event(record)
    if event is None:
        return
    env = indexer_env()
    for item in event.records:
        key = unquote_plus(item.s3.get_object.key)
        if item.event_name.startswith("ObjectCreated:") and item.s3.bucket.name == env.settings.captures_bucket:
            index_file(env, key)


def index_file(env: IndexerEnv, key: str) -> int:
    """Index one capture file; returns how many requests it recorded."""
    match = CAPTURE_KEY.match(key)
    if match is None:
        logger.info("not a capture file", extra={"key": key})
        return 0
    owner = _owner(env, match["endpoint"])
    if owner is None:
        logger.info("capture of an endpoint no model alias claims", extra={"key": key})
        return 0
    if not owner.ground_truth:
        logger.debug("ground truth is off for this model", extra={"key": key, "model": owner.claim.model})
        return 0
    claim, label_days = owner.claim, owner.label_days
    body = env.captures.read(key)
    items = []
    for line in body.splitlines():
        found = _inference(line)
        if found is None:
            continue
        inference_id, when = found
        items.append(CapturedInference(
            inference_id=inference_id, model=claim.model, alias=claim.alias, endpoint=claim.endpoint,
            variant=match["variant"], time=when, capture_key=key,
            expires_at=int((when + timedelta(days=label_days)).timestamp()),
        ))  # fmt: skip
    env.index.index(items)
    logger.info("capture file indexed", extra={"key": key, "requests": len(items), "model": claim.model})
    return len(items)


def _inference(line: bytes) -> tuple[str, datetime] | None:
    try:
        meta = json.loads(line)["eventMetadata"]
        inference_id = meta.get("inferenceId")
        return (str(inference_id), datetime.fromisoformat(meta["inferenceTime"])) if inference_id else None
    except (ValueError, KeyError, TypeError):
        return None


def _owner(env: IndexerEnv, endpoint: str) -> Owner | None:
    """The endpoint's claim and its model's label policy, read again after `OWNER_TTL_S`
    (a claim never moves, but the policy may change)."""
    cached = env.owners.get(endpoint)
    now = time.monotonic()
    if cached is None or now - cached[1] > OWNER_TTL_S:
        claim = env.deps.store.get(EndpointClaim.key_for(endpoint), EndpointClaim)
        model = env.deps.store.get(Model.key_for(claim.model), Model) if claim else None
        policy = model.policy.monitoring if model else None
        owner = Owner(claim, policy.ground_truth, policy.label_days) if claim and policy else None
        env.owners[endpoint] = cached = (owner, now)
    return cached[0]


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_message, processor=processor, context=context)
