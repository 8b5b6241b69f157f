"""DynamoDB adapter of `functions.core.feedback.FeedbackStore`: captured-inference index
items (with a TTL) and labels, in the metadata table but outside the audit chains."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.adapters.dynamodb import _item, _key, _record, _s
from functions.adapters.schema import METADATA, PK, SK
from functions.core.errors import LabelConflict
from functions.core.feedback import LABELS_PREFIX, CapturedInference, Label
from functions.core.records import ItemKey

_BATCH_GET, _BATCH_WRITE = 100, 25


class DynamoFeedback:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def inferences(self, ids: list[str]) -> dict[str, CapturedInference]:
        found = self._batch_get([CapturedInference.key_for(i) for i in ids], CapturedInference)
        return {record.inference_id: record for record in found.values()}

    def labels_for(self, keys: list[ItemKey]) -> dict[ItemKey, Label]:
        return self._batch_get(keys, Label)

    def put_new_labels(self, labels: list[Label]) -> None:
        items = [{"Put": {"TableName": self._table, "Item": _item(label),
                          "ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": PK}}}
                 for label in labels]
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise LabelConflict("another request labelled some of these inference ids at the same moment; "
                                "post them again to see which") from None

    def index(self, items: list[CapturedInference]) -> None:
        ttl = METADATA.ttl_attribute
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [{"PutRequest": {"Item": {**_item(item), ttl: {"N": str(item.expires_at)}}}}
                        for item in items[start:start + _BATCH_WRITE]]
            self._write_all(requests)

    def labels_between(self, model: str, start: datetime, end: datetime) -> Iterator[Label]:
        # keys have whole seconds (inferenceTime's): a window's last, partial second is in
        # it, as the drift job's capture reader counts it (model_containers/monitoring/captures.py)
        if end.microsecond:
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table, KeyConditionExpression="#pk = :pk AND #sk BETWEEN :start AND :end",
            ExpressionAttributeNames={"#pk": PK, "#sk": SK},
            ExpressionAttributeValues={":pk": _s(f"{LABELS_PREFIX}{model}"),
                                       ":start": _s(f"{start:%Y-%m-%dT%H:%M:%S}Z"),
                                       # `#` sorts after every character of a time, `!` before
                                       ":end": _s(f"{end:%Y-%m-%dT%H:%M:%S}Z!")},
        ):
            for item in page["Items"]:
                yield _record(item, Label)

    # -- batches --------------------------------------------------------------------------
    def _batch_get(self, keys: list[ItemKey], cls: type) -> dict[ItemKey, Any]:
        found: dict[ItemKey, Any] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _BATCH_GET):
            pending: dict[str, Any] = {self._table: {"Keys": [_key(k) for k in unique[start:start + _BATCH_GET]]}}
            while pending:
                answer = self._db.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    if item.get("kind", {}).get("S") == cls.KIND:
                        record = _record(item, cls)
                        found[record.key] = record
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def _write_all(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self._table: requests}
        while pending:
            pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
