"""API Gateway's REQUEST-authorizer rule, with its result cache.

* Identity sources come from `functions.apigw.AUTHORIZERS`, the definitions the Api stack
  synthesizes; kinds API Gateway refuses (path parameters) are refused here too, when the
  cache is built, as a deploy would fail. A request missing any identity source (absent,
  null or empty) is answered 401 without calling the authorizer.
* The cache key is the authorizer configuration and the identity sources' values, nothing
  else; an answer (Allow or Deny policy with its context) is kept for `ttl_s` seconds
  (0 turns caching off). An `Unauthorized` failure is a 401 and is not cached.
* The cached policy is evaluated against each request's method ARN (Deny wins over Allow;
  IAM's `*` and `?` wildcards), so a policy narrower than the stage is honoured.
* `flush()` empties the cache: what `FlushStageAuthorizersCache` does on AWS.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from functions.apigw import AUTHORIZERS, AuthorizerDefinition, IdentitySource, InvalidIdentitySource
from functions.routes import Route


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
            if any(arn_matches(method_arn, pattern) for pattern in resources):
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
            if not any(arn_matches("execute-api:Invoke", a) for a in actions):
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


def arn_matches(value: str, pattern: str) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character, nothing else special."""
    return _pattern(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _context_value(context: Mapping[str, Any], name: str) -> Any:
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(name)
        value = value[part]
    return value


@dataclass(frozen=True)
class RequestValues:
    """What identity sources can read from one request (header names case-insensitive)."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    stage_variables: Mapping[str, str]
    #: the request context as the authorizer event carries it (`path`, `resourcePath`, ...).
    context: Mapping[str, Any]

    def value(self, source: IdentitySource) -> Any:
        if source.kind == "header":
            found = self.headers.get(source.name.title())  # how the gateway keys headers
            if found is not None:
                return found
            lowered = source.name.lower()
            return next((v for k, v in self.headers.items() if k.lower() == lowered), None)
        if source.kind == "querystring":
            return self.query.get(source.name)
        if source.kind == "stage_variable":
            return self.stage_variables.get(source.name)
        try:
            return _context_value(self.context, source.name)
        except KeyError:
            return None


class AuthorizerCache:
    """The cached REQUEST authorizer of one API stage."""

    def __init__(
        self,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        authorizers: Mapping[str, AuthorizerDefinition] = AUTHORIZERS,
        known_context: Mapping[str, Any] | None = None,
    ) -> None:
        """`known_context`: a request context of this gateway; a `context.<name>` source
        that names nothing in it is refused (API Gateway knows only its own variables)."""
        self._sources = {kind: definition.sources() for kind, definition in authorizers.items()}
        if known_context is not None:
            for sources in self._sources.values():
                for source in sources:
                    if source.kind == "context":
                        try:
                            _context_value(known_context, source.name)
                        except KeyError:
                            raise InvalidIdentitySource(
                                f"{source.expression!r}: no $context variable {source.name!r}"
                            ) from None
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Decision]] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.flushes = 0

    def identity(self, route: Route, request: RequestValues) -> tuple[str, ...]:
        """The cache key; raises Unauthorized when an identity source is missing, null or empty."""
        kind = route.authorizer or "control_plane"
        values = [request.value(source) for source in self._sources[kind]]
        if not all(v is not None and str(v).strip() for v in values):
            raise Unauthorized("an identity source is missing")
        return (kind, *(str(v) for v in values))

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
