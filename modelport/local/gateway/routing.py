"""Match request paths against the route table (`functions.routes.ROUTES`), as API Gateway
matches resources: literal segments first, then `{param}` segments capture one segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from functions.routes import ROUTES, Route

_RECENT = 4096


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class Router:
    """Routes grouped by segment count; within a group, routes with more literals win."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self._by_length: dict[int, list[tuple[Route, tuple[str | None, ...], tuple[str, ...]]]] = {}
        for route in routes:
            parts = route.path.strip("/").split("/")
            template = tuple(None if p.startswith("{") else p for p in parts)
            names = tuple(p[1:-1] for p in parts if p.startswith("{"))
            self._by_length.setdefault(len(parts), []).append((route, template, names))
        for candidates in self._by_length.values():
            candidates.sort(key=lambda c: -sum(p is not None for p in c[1]))
        #: answers for recent paths: an application calls the same few paths over and over
        self._recent: dict[tuple[str, str], Match | None] = {}

    def match(self, method: str, raw_path: str) -> Match | None:
        """The route and its (decoded) path parameters; None when nothing matches."""
        key = (method, raw_path)
        try:
            hit = self._recent[key]
        except KeyError:
            pass
        else:  # a copy of the parameters: whoever gets them may change them
            return Match(hit.route, dict(hit.params)) if hit is not None else None
        found = self._match(method, raw_path)
        if len(self._recent) >= _RECENT:
            self._recent.clear()
        self._recent[key] = found
        return found

    def _match(self, method: str, raw_path: str) -> Match | None:
        parts = raw_path.strip("/").split("/")
        for route, template, names in self._by_length.get(len(parts), ()):
            if route.method != method:
                continue
            values: list[str] = []
            for want, got in zip(template, parts):
                if want is None:
                    if not got:
                        break
                    values.append(unquote(got))
                elif want != got:
                    break
            else:
                return Match(route, dict(zip(names, values)))
        return None

    def path_exists(self, raw_path: str) -> bool:
        """True when some route has this path (under another method)."""
        return any(self.match(m, raw_path) for m in ("GET", "POST", "PUT", "DELETE"))
