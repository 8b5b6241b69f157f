"""Who uploaded a training dataset (`UPLOAD#<key>` under `MODEL#<name>`), for four eyes.

Asking for a dataset upload URL writes this record in the same transaction as the
`dataset.upload` audit event: the key the object will have, its SHA-256 (the presigned PUT
is bound to it) and the principal who asked. The retrain that the object starts looks it
up, so the retrain and the version it registers name the person whose data shaped them
(`Lineage.dataset_uploaded_by`), and that person cannot approve the version. An object
that reached the bucket otherwise, or other bytes at an issued key, has no known uploader.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from functions.core.principals import Contributor
from functions.core.records import ItemKey, Record, model_pk

if TYPE_CHECKING:
    from functions.core.ports import Deps

UPLOAD_PREFIX = "UPLOAD#"


class DatasetUploadRecord(Record):
    KIND: ClassVar[str] = "dataset_upload"

    model: str
    #: the S3 key the object gets
    object_key: str
    sha256: str
    size: int
    by: Contributor
    at: datetime

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.object_key)

    @staticmethod
    def key_for(model: str, s3_key: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{UPLOAD_PREFIX}{s3_key}")


def uploader_of(deps: Deps, model: str, s3_key: str, sha256: str | None) -> Contributor | None:
    """Who asked for the URL this object was uploaded with (None when nobody did, or when
    the object's bytes are not the ones the URL was issued for)."""
    found = deps.store.get(DatasetUploadRecord.key_for(model, s3_key), DatasetUploadRecord, consistent=True)
    if found is None or sha256 is None or found.sha256 != sha256:
        return None
    return found.by
