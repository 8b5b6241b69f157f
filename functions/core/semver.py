"""Semantic versions (`MAJOR.MINOR.PATCH`) and version specs.

Sort keys are zero padded (`00001.00002.00003`) so that DynamoDB's lexical order is semver
order: "latest" is one descending Query with `Limit=1`, and a partial spec (`1.x`, `1.2.x`)
is the same Query restricted with `begins_with` on its prefix. Pre-release and build
suffixes are not supported: a published version is a release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from functions.core.errors import InvalidInput

#: Each part fits the 5-digit padding of the sort key.
MAX_PART = 99_999
_WIDTH = 5
_SEMVER_RE = re.compile(r"^(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})\.(0|[1-9]\d{0,4})$")
_PARTIAL_RE = re.compile(r"^(0|[1-9]\d{0,4})(?:\.(0|[1-9]\d{0,4}))?\.[xX*]$")
#: Alias names: lowercase, start with a letter; `latest` is reserved.
ALIAS_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
LATEST = "latest"


class Bump(StrEnum):
    major = "major"
    minor = "minor"
    patch = "patch"


@dataclass(frozen=True, order=True)
class SemVer:
    """A release version. Ordering is semver precedence."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse `1.2.3`; raises InvalidInput naming the text otherwise."""
        match = _SEMVER_RE.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise InvalidInput(
                f"{text!r} is not a version: use MAJOR.MINOR.PATCH, each 0..{MAX_PART}",
                [{"path": "version", "message": "not MAJOR.MINOR.PATCH"}],
            )
        return cls(*(int(part) for part in match.groups()))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def sort_key(self) -> str:
        return ".".join(str(part).zfill(_WIDTH) for part in (self.major, self.minor, self.patch))

    @classmethod
    def from_sort_key(cls, key: str) -> SemVer:
        return cls(*(int(part) for part in key.split(".")))

    def bump(self, part: Bump) -> SemVer:
        """The next version; raises InvalidInput when a part would overflow."""
        if part is Bump.major:
            nxt = SemVer(self.major + 1, 0, 0)
        elif part is Bump.minor:
            nxt = SemVer(self.major, self.minor + 1, 0)
        else:
            nxt = SemVer(self.major, self.minor, self.patch + 1)
        if max(nxt.major, nxt.minor, nxt.patch) > MAX_PART:
            raise InvalidInput(f"cannot bump {self} ({part}): parts stop at {MAX_PART}")
        return nxt


#: The first version published by a bump on a model without versions.
FIRST = {Bump.major: SemVer(1, 0, 0), Bump.minor: SemVer(0, 1, 0), Bump.patch: SemVer(0, 0, 1)}


class SpecKind(StrEnum):
    exact = "exact"
    partial = "partial"
    latest = "latest"
    alias = "alias"


@dataclass(frozen=True)
class VersionSpec:
    """What a caller asks for: `1.2.3`, `1.2.x`, `1.x`, `latest` or an alias name."""

    kind: SpecKind
    text: str
    version: SemVer | None = None
    #: leading parts fixed by a partial spec: (1,) for `1.x`, (1, 2) for `1.2.x`.
    prefix: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> VersionSpec:
        """Parse a spec; raises InvalidInput naming the accepted forms."""
        text = text.strip() if isinstance(text, str) else ""
        if text == LATEST:
            return cls(SpecKind.latest, text)
        if _SEMVER_RE.match(text):
            return cls(SpecKind.exact, text, version=SemVer.parse(text))
        match = _PARTIAL_RE.match(text)
        if match:
            prefix = tuple(int(p) for p in match.groups() if p is not None)
            return cls(SpecKind.partial, text, prefix=prefix)
        if ALIAS_RE.match(text):
            return cls(SpecKind.alias, text)
        raise InvalidInput(
            f"{text!r} is not a version spec: use 1.2.3, 1.2.x, 1.x, latest or an alias name",
            [{"path": "spec", "message": "not a version spec"}],
        )

    @property
    def sort_key_prefix(self) -> str:
        """Prefix of the zero-padded sort key that every matching version starts with."""
        if self.kind is SpecKind.exact:
            assert self.version is not None
            return self.version.sort_key
        return "".join(str(part).zfill(_WIDTH) + "." for part in self.prefix)

    def matches(self, version: SemVer) -> bool:
        """True when `version` satisfies an exact, partial or latest spec."""
        if self.kind is SpecKind.alias:
            raise ValueError("an alias is resolved through its alias item, not by matching")
        return version.sort_key.startswith(self.sort_key_prefix)


def best_match(spec: VersionSpec, versions: Iterable[SemVer]) -> SemVer | None:
    """Reference resolution: the highest version that satisfies `spec` (None if none does)."""
    candidates = [v for v in versions if spec.matches(v)]
    return max(candidates) if candidates else None


def validate_alias(name: str) -> str:
    """Return `name` if it is a valid alias name; raise InvalidInput otherwise."""
    if name == LATEST or not ALIAS_RE.match(name or ""):
        raise InvalidInput(
            f"{name!r} is not an alias name: lowercase letters, digits and '-', "
            "starting with a letter, at most 32 characters, not 'latest'",
            [{"path": "alias", "message": "invalid alias name"}],
        )
    return name
