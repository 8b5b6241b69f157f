"""Idempotent creating POSTs, keyed on the `Idempotency-Key` header (Powertools).

The first request with a key runs and its JSON response is remembered in the metadata
table (items `IDEMPOTENCY#<function>` / hash, expiring by TTL); a retry with the same key,
caller and body gets the same response without running again. The same key with another
body is a 409. Requests without the header are not deduplicated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from functions.core.errors import IdempotencyConflict, InvalidInput
from functions.core.ports import Context

HEADER = "idempotency-key"
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


@cache
def _idempotent(function: str) -> tuple[Callable[..., Any], Any]:
    """The Powertools-wrapped runner for one Lambda, built on first use (imports boto3)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from functions.adapters import wiring

    settings = wiring.settings()
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=f"IDEMPOTENCY#{function}",
        boto3_client=wiring.client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
        hash_function="sha256",
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def run(*, request: dict[str, Any], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return work()

    return run, config


def run_once(
    *,
    function: str,
    route: str,
    ctx: Context,
    headers: dict[str, str] | None,
    body: Any,
    work: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run `work` (which returns the JSON response) at most once per Idempotency-Key."""
    key = next((v for k, v in (headers or {}).items() if k.lower() == HEADER), None)
    if key is None:
        return work()
    if not _KEY_RE.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1-128 letters, digits or _.:-",
            [{"path": "header.Idempotency-Key", "message": "invalid"}],
        )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    run, config = _idempotent(function)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    try:
        return run(request={"key": f"{route}|{ctx.actor.id}|{key}", "body": body}, work=work)
    except IdempotencyValidationError:
        raise IdempotencyConflict("this Idempotency-Key was already used with a different request") from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyConflict("a request with this Idempotency-Key is still in progress") from None
