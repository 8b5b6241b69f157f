"""API Gateway's REQUEST-authorizer rule, with its result cache.

* Identity sources per authorizer kind (contracts.md): `Authorization` for the control
  plane, plus path `name` for model inference, plus path `spec` for version inference.
  A request missing any identity source is answered 401 without calling the authorizer.
* The cache key is the authorizer kind and the identity-source values; an answer (Allow or
  Deny policy with its context) is kept for `ttl_s` seconds (0 turns caching off). An
  `Unauthorized` failure is a 401 and is not cached.
* The cached policy is evaluated against each request's method ARN (Deny wins over Allow;
  `*` matches any characters), so a policy narrower than the stage is honoured.
* `flush()` empties the cache: what `FlushStageAuthorizersCache` does on AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from functions.routes import Route

IDENTITY_PATH_PARAMS: dict[str, tuple[str, ...]] = {
    "control_plane": (),
    "model": ("name",),
    "version": ("name", "spec"),
}


class Unauthorized(Exception):
    """401: identity source missing, or the authorizer raised `Unauthorized`."""


class AuthorizerFailure(Exception):
    """500: the authorizer failed or answered something that is not a policy."""


@dataclass(frozen=True)
class Decision:
    principal_id: str
    statements: tuple[tuple[str, tuple[str, ...]], ...]  # (effect, resources)
    #: context values as API Gateway passes them on: strings.
    context: dict[str, str]

    def allows(self, method_arn: str) -> bool:
        allowed = False
        for effect, resources in self.statements:
            if any(fnmatchcase(method_arn, pattern) for pattern in resources):
                if effect == "Deny":
                    return False
                allowed = allowed or effect == "Allow"
        return allowed


def decision_from(answer: Any) -> Decision:
    """Validate an authorizer's answer as API Gateway does; AuthorizerFailure otherwise."""
    try:
        principal = answer["principalId"]
        statements = []
        for statement in answer["policyDocument"]["Statement"]:
            effect = statement["Effect"]
            actions = statement.get("Action", "execute-api:Invoke")
            actions = [actions] if isinstance(actions, str) else actions
            if effect not in ("Allow", "Deny"):
                raise ValueError(effect)
            if not any(fnmatchcase("execute-api:Invoke", a) for a in actions):
                continue
            resources = statement["Resource"]
            statements.append((effect, tuple([resources] if isinstance(resources, str) else resources)))
        context = answer.get("context") or {}
        if not isinstance(context, dict) or any(isinstance(v, (dict, list)) for v in context.values()):
            raise ValueError("context values must be strings, numbers or booleans")
        strings = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in context.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise AuthorizerFailure(f"the authorizer answered no valid policy: {exc}") from None
    return Decision(str(principal), tuple(statements), strings)


class AuthorizerCache:
    """The cached REQUEST authorizer of one API stage."""

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Decision]] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.flushes = 0

    def identity(self, route: Route, authorization: str | None, params: dict[str, str]) -> tuple[str, ...]:
        """The cache key; raises Unauthorized when an identity source is missing or empty."""
        kind = route.authorizer or "control_plane"
        values = [authorization or ""] + [params.get(p, "") for p in IDENTITY_PATH_PARAMS[kind]]
        if not all(v.strip() for v in values):
            raise Unauthorized("an identity source is missing")
        return (kind, *values)

    def cached(self, key: tuple[str, ...]) -> Decision | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, decision = entry
        if self._clock() >= expires:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return decision

    def store(self, key: tuple[str, ...], decision: Decision) -> None:
        if self.ttl_s > 0:
            with self._lock:
                self._entries[key] = (self._clock() + self.ttl_s, decision)

    def flush(self) -> None:
        with self._lock:
            self._entries = {}
            self.flushes += 1

    def __len__(self) -> int:
        return len(self._entries)
