"""One class per API resource; `Client` exposes them as `client.models`, `client.versions`, ...

Listing methods come in two forms: `page(...)` returns one `Page`, `list(...)` iterates
over every item, fetching the next page only when the iteration reaches it. Creating
POSTs send an `Idempotency-Key` (a fresh one unless the caller passes theirs), so a retry
after a lost answer cannot create twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from modelport.client.errors import InvalidInputError
from modelport.client.shapes import (
    Alias,
    AliasPeriod,
    ApiKeyInfo,
    AuditEvent,
    AuditReport,
    CreatedKey,
    Identity,
    Model,
    ModelChange,
    ModelVersion,
    ModelView,
    NewKey,
    NewModel,
    NewVersion,
    Page,
    PublishedVersion,
    RotatedKey,
)
from modelport.client.transport import Transport, new_idempotency_key

T = TypeVar("T")


def seg(value: str) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")


def _dump(value: BaseModel | dict[str, Any] | None) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value


M = TypeVar("M", bound=BaseModel)


def validated(cls: type[M], value: M | dict[str, Any]) -> M:
    """`value` as a `cls` command, checked before sending; InvalidInputError names bad fields."""
    if isinstance(value, cls):
        return value
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        fields = [{"path": "body." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        raise InvalidInputError(f"invalid request: {summary}", code="InvalidInput", fields=fields) from None


def iterate(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a paginated listing, one page request at a time."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        cursor = page.cursor
        if not cursor:
            return


class _Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport


class Models(_Resource):
    def create(self, model: NewModel | dict[str, Any], *, idempotency_key: str | None = None) -> Model:
        body = _dump(validated(NewModel, model))
        data = self._t.json("POST", "/v1/models", body=body, idempotency_key=idempotency_key or new_idempotency_key())
        return Model.model_validate(data)

    def get(self, name: str) -> ModelView:
        """The model, with `revalidation_overdue` as of now."""
        return ModelView.model_validate(self._t.json("GET", f"/v1/models/{seg(name)}"))

    def page(
        self, *, limit: int = 50, cursor: str | None = None, status: str = "active", overdue: bool = False
    ) -> Page[ModelView]:
        params = {"limit": limit, "cursor": cursor, "status": status, "overdue": "true" if overdue else None}
        return Page[ModelView].model_validate(self._t.json("GET", "/v1/models", params=params))

    def list(self, *, page_size: int = 50, status: str = "active", overdue: bool = False) -> Iterator[ModelView]:
        """Models by name: `active` ones, or `retired`, or `all`; with `overdue`, only those whose
        production version is past its revalidation date."""
        return iterate(lambda cursor: self.page(limit=page_size, cursor=cursor, status=status, overdue=overdue))

    def update(self, name: str, patch: dict[str, Any], *, revision: int | None = None) -> Model | ModelChange:
        """Apply a JSON Merge Patch to a model's settings (`description`, `owner`, `policy`,
        `training`; `None` restores a default). `revision` is the one the change is based on
        (sent as If-Match; a stale one raises PreconditionFailedError); without it the current
        one is read first. Returns the updated model, or the pending change when the patch
        loosens the policy and waits for a second approver."""
        if revision is None:
            revision = self.get(name).revision
        response = self._t.send(
            "PATCH", f"/v1/models/{seg(name)}", content=json.dumps(patch).encode(),
            headers={"Content-Type": "application/merge-patch+json", "If-Match": f'"{revision}"'},
        )  # fmt: skip
        if response.status_code == 202:
            return ModelChange.model_validate(response.json())
        return Model.model_validate(response.json())

    def retire(self, name: str, *, reason: str | None = None) -> Model:
        """Retire a model: read-only from then on (refused while an alias is deployed)."""
        body = {"reason": reason} if reason else None
        return Model.model_validate(self._t.json("POST", f"/v1/models/{seg(name)}/retire", body=body))

    def changes_page(self, name: str, *, limit: int = 50, cursor: str | None = None) -> Page[ModelChange]:
        data = self._t.json("GET", f"/v1/models/{seg(name)}/changes", params={"limit": limit, "cursor": cursor})
        return Page[ModelChange].model_validate(data)

    def changes(self, name: str, *, page_size: int = 50) -> Iterator[ModelChange]:
        """A model's requested changes (pending, applied, rejected), newest first."""
        return iterate(lambda cursor: self.changes_page(name, limit=page_size, cursor=cursor))

    def change(self, name: str, change_id: str) -> ModelChange:
        return ModelChange.model_validate(self._t.json("GET", f"/v1/models/{seg(name)}/changes/{seg(change_id)}"))

    def confirm(self, name: str, change_id: str, comment: str | None = None) -> ModelChange:
        """Confirm (and so apply) a pending change: a second approver or admin."""
        return self._decide(name, change_id, "confirm", comment)

    def reject(self, name: str, change_id: str, comment: str | None = None) -> ModelChange:
        return self._decide(name, change_id, "reject", comment)

    def _decide(self, name: str, change_id: str, action: str, comment: str | None) -> ModelChange:
        path = f"/v1/models/{seg(name)}/changes/{seg(change_id)}/{action}"
        return ModelChange.model_validate(self._t.json("POST", path, body={"comment": comment} if comment else None))


class Versions(_Resource):
    def publish(
        self, model: str, version: NewVersion | dict[str, Any], *, idempotency_key: str | None = None
    ) -> PublishedVersion:
        body = _dump(validated(NewVersion, version))
        data = self._t.json(
            "POST", f"/v1/models/{seg(model)}/versions", body=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )  # fmt: skip
        return PublishedVersion.model_validate(data)

    def get(self, model: str, spec: str) -> ModelVersion:
        """Resolve `1.2.3`, `1.2.x`, `1.x`, `latest` or an alias to one version."""
        return ModelVersion.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/versions/{seg(spec)}"))

    def page(self, model: str, *, limit: int = 50, cursor: str | None = None) -> Page[ModelVersion]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/versions", params={"limit": limit, "cursor": cursor})
        return Page[ModelVersion].model_validate(data)

    def list(self, model: str, *, page_size: int = 50) -> Iterator[ModelVersion]:
        """Newest first."""
        return iterate(lambda cursor: self.page(model, limit=page_size, cursor=cursor))

    def _decide(self, model: str, version: str, action: str, comment: str | None) -> ModelVersion:
        body = {"comment": comment} if comment else None
        path = f"/v1/models/{seg(model)}/versions/{seg(version)}/{action}"
        return ModelVersion.model_validate(self._t.json("POST", path, body=body))

    def submit(self, model: str, version: str) -> ModelVersion:
        return self._decide(model, version, "submit", None)

    def approve(self, model: str, version: str, comment: str | None = None) -> ModelVersion:
        return self._decide(model, version, "approve", comment)

    def reject(self, model: str, version: str, comment: str | None = None) -> ModelVersion:
        return self._decide(model, version, "reject", comment)

    def archive(self, model: str, version: str, comment: str | None = None) -> ModelVersion:
        return self._decide(model, version, "archive", comment)

    def revalidate(self, model: str, version: str, comment: str | None = None) -> ModelVersion:
        """Validate an approved version again (an approver, not its publisher)."""
        return self._decide(model, version, "revalidate", comment)


class Aliases(_Resource):
    def set(self, model: str, alias: str, version: str) -> Alias:
        path = f"/v1/models/{seg(model)}/aliases/{seg(alias)}"
        return Alias.model_validate(self._t.json("PUT", path, body={"version": version}))

    def list(self, model: str) -> list[Alias]:
        data = self._t.json("GET", f"/v1/models/{seg(model)}/aliases")
        return [Alias.model_validate(item) for item in data["items"]]

    def history_page(
        self, model: str, alias: str = "production", *, limit: int = 50, cursor: str | None = None
    ) -> Page[AliasPeriod]:
        path = f"/v1/models/{seg(model)}/aliases/{seg(alias)}/history"
        return Page[AliasPeriod].model_validate(self._t.json("GET", path, params={"limit": limit, "cursor": cursor}))

    def history(self, model: str, alias: str = "production", *, page_size: int = 50) -> Iterator[AliasPeriod]:
        """Every period the alias pointed at a version, newest first."""
        return iterate(lambda cursor: self.history_page(model, alias, limit=page_size, cursor=cursor))

    def at(self, model: str, alias: str, when: datetime | str) -> AliasPeriod | None:
        """The period of `alias` that covered `when` (timezone-aware, or RFC 3339 text), or
        None when the alias pointed at nothing then."""
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise InvalidInputError("give `when` with its time zone", code="InvalidInput",
                                        fields=[{"path": "query.at", "message": "time zone missing"}])
            when = when.isoformat()
        path = f"/v1/models/{seg(model)}/aliases/{seg(alias)}/history"
        items = Page[AliasPeriod].model_validate(self._t.json("GET", path, params={"at": when})).items
        return items[0] if items else None


class Keys(_Resource):
    def create(self, key: NewKey | dict[str, Any], *, idempotency_key: str | None = None) -> CreatedKey:
        body = _dump(validated(NewKey, key))
        data = self._t.json("POST", "/v1/keys", body=body, idempotency_key=idempotency_key or new_idempotency_key())
        return CreatedKey.model_validate(data)

    def page(self, *, limit: int = 50, cursor: str | None = None, owner: str | None = None) -> Page[ApiKeyInfo]:
        params = {"limit": limit, "cursor": cursor, "owner": owner}
        return Page[ApiKeyInfo].model_validate(self._t.json("GET", "/v1/keys", params=params))

    def list(self, *, page_size: int = 50, owner: str | None = None) -> Iterator[ApiKeyInfo]:
        """Keys by owner, then id; `owner` lists one owner's keys. `last_used_at` is sampled hourly."""
        return iterate(lambda cursor: self.page(limit=page_size, cursor=cursor, owner=owner))

    def rotate(
        self, key_id: str, *, grace_period_hours: int, description: str | None = None,
        idempotency_key: str | None = None,
    ) -> RotatedKey:
        """A successor with the same owner, roles and patterns (its token is in the answer, once);
        the old key keeps working for `grace_period_hours`, then expires."""
        body = {"grace_period_hours": grace_period_hours, **({"description": description} if description else {})}
        data = self._t.json("POST", f"/v1/keys/{seg(key_id)}/rotate", body=body,
                            idempotency_key=idempotency_key or new_idempotency_key())
        return RotatedKey.model_validate(data)

    def revoke(self, key_id: str) -> ApiKeyInfo:
        return ApiKeyInfo.model_validate(self._t.json("DELETE", f"/v1/keys/{seg(key_id)}"))

    def whoami(self) -> Identity:
        """The key this client signs with, and what its roles allow (any key may ask)."""
        return Identity.model_validate(self._t.json("GET", "/v1/whoami"))


class Audit(_Resource):
    def page(self, chain: str, *, limit: int = 50, cursor: str | None = None) -> Page[AuditEvent]:
        data = self._t.json("GET", "/v1/audit", params={"chain": chain, "limit": limit, "cursor": cursor})
        return Page[AuditEvent].model_validate(data)

    def list(self, chain: str, *, page_size: int = 50) -> Iterator[AuditEvent]:
        """A chain's events, newest first (`platform` for keys, else a model name)."""
        return iterate(lambda cursor: self.page(chain, limit=page_size, cursor=cursor))

    def verify(self, chain: str | None = None) -> AuditReport:
        return AuditReport.model_validate(self._t.json("GET", "/v1/audit/verify", params={"chain": chain}))
