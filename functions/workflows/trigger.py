"""Lambda `retrain trigger`: SQS batches of S3 notifications → retrain executions.

Idempotent on the object (bucket, key, version id): the retrain id — also the execution
name — derives from it, so a redelivered notification finds the same `RETRAIN#<id>` and
cannot start a second run (Step Functions refuses a reused name: "already started").
`s3:TestEvent`, other buckets, keys outside `datasets/<model>/` (or the model's dataset
prefix), unknown models and objects deleted since are ignored and logged. A message that
is not an S3 notification fails (partial batch failure), so the queue's redrive policy
moves it to the dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.adapters.s3 import S3Objects
from functions.adapters.s3_notifications import s3_event
from functions.adapters.stepfunctions import StateMachine
from functions.adapters.wiring import build_deps, client
from functions.core import retraining
from functions.core.models import Model
from functions.core.ports import Deps
from functions.core.retraining import Dataset, dataset_prefix, model_for_key, retrain_id
from functions.workflows.settings import TriggerSettings
from functions.workflows.wiring import once

logger = Logger(service="retrain-trigger")
processor = BatchProcessor(event_type=EventType.SQS)


@dataclass(frozen=True)
class TriggerEnv:
    settings: TriggerSettings
    deps: Deps
    objects: S3Objects
    retrain: StateMachine


@once
def trigger_env() -> TriggerEnv:
    settings = TriggerSettings()  # type: ignore[call-arg] - from the environment
    return TriggerEnv(settings=settings, deps=build_deps(settings, client), objects=S3Objects(client("s3")),
                      retrain=StateMachine(client("stepfunctions"), settings.retrain_state_machine_arn))


def handle_message(record: SQSRecord) -> None:
    event = s3_event(record)
    if event is None:
        logger.info("ignoring s3:TestEvent")
        return
    env = trigger_env()
    for item in event.records:
        handle_object(env, item)


def handle_object(env: TriggerEnv, item: S3EventRecord) -> dict[str, Any] | None:
    """Open the retrain for one created object and start its execution; None when ignored."""
    obj = item.s3.get_object
    # keys arrive URL-encoded (spaces as '+')
    bucket, key = item.s3.bucket.name, unquote_plus(obj.key)
    where = {"bucket": bucket, "key": key, "event": item.event_name}
    if not item.event_name.startswith("ObjectCreated:"):
        return _ignore("not an ObjectCreated event", where)
    if bucket != env.settings.datasets_bucket:
        return _ignore("not the datasets bucket", where)
    name = model_for_key(key)
    if name is None:
        return _ignore("key outside datasets/<model>/", where)
    model = env.deps.store.get(Model.key_for(name), Model)
    if model is None:
        return _ignore(f"no model named {name!r}", where)
    if not key.startswith(dataset_prefix(model)):
        return _ignore(f"key outside {dataset_prefix(model)}, the model's dataset prefix", where)
    version = obj.version_id or None
    found = env.objects.head(bucket, key, version)
    if found is None:
        return _ignore("the object no longer exists", where)
    dataset = Dataset(bucket=bucket, key=key, version_id=found.version_id or version, sha256=found.sha256,
                      size=found.size)
    # the version id names the object; unversioned buckets fall back to the event's sequencer
    run = retrain_id(dataset, found.last_modified, dataset.version_id or obj.get("sequencer") or "")
    retrain, created = retraining.open_retrain(env.deps, retraining.workflow_context(run), name, dataset, run)
    if retrain.status in retraining.FINISHED:
        # refused (another retrain of the model was running: the record says which) or done
        logger.info("retrain not started: it has finished", extra={
            **where, "retrain": run, "error": retrain.error, "record_created": created})  # fmt: skip
        return {"retrain_id": retrain.id, "started": False, "created": created}
    started = env.retrain.start(run, {
        "retrain_id": run, "model": name, "dataset": dataset.model_dump(mode="json"),
        "poll_seconds": env.settings.workflow_poll_seconds,
    })  # fmt: skip
    logger.info("retrain started" if started else "retrain already started",
                extra={**where, "retrain": run, "record_created": created})
    return {"retrain_id": retrain.id, "started": started, "created": created}


def _ignore(reason: str, where: dict[str, Any]) -> None:
    logger.info(f"ignoring notification: {reason}", extra=where)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_message, processor=processor, context=context)
