"""Use case: route an inference request to the SageMaker endpoint that serves it now."""

from __future__ import annotations

from dataclasses import dataclass

from functions.core import access
from functions.core.errors import NotDeployed
from functions.core.governance import PRODUCTION, _aliases
from functions.core.models import Alias
from functions.core.ports import Context, Deps
from functions.core.registry import find_version, require_model
from functions.core.semver import SpecKind, VersionSpec


@dataclass(frozen=True)
class InferenceTarget:
    model: str
    version: str
    endpoint: str


def route_inference(deps: Deps, ctx: Context, name: str, spec: str | None = None) -> InferenceTarget:
    """Where `POST .../invocations` for `name` (alias `production`) or `name`+`spec` goes.

    An alias is one read (the alias item carries its endpoint); a version spec is two (the
    version, then the aliases, to find one whose endpoint serves that version). Raises
    ModelNotFound / VersionNotFound / AliasNotFound for unknown targets and NotDeployed
    when no endpoint serves the target.
    """
    access.require(ctx.actor, access.INVOKE, name, doing="invoking a model")
    parsed = VersionSpec.parse(spec) if spec is not None else VersionSpec.parse(PRODUCTION)
    if parsed.kind is SpecKind.alias:
        alias = deps.store.get(Alias.key_for(name, parsed.text), Alias)
        if alias is None:
            require_model(deps, name)
            raise NotDeployed(f"model {name!r} has no {parsed.text!r} alias, so nothing serves it")
        if not alias.endpoint:
            raise NotDeployed(f"{name} {parsed.text} ({alias.version}) is not deployed")
        return InferenceTarget(name, alias.version, alias.endpoint)
    version = find_version(deps, name, parsed)
    serving = sorted(
        (a for a in _aliases(deps, name) if a.version == version.version and a.endpoint),
        key=lambda a: (a.alias != PRODUCTION, a.alias),
    )
    if not serving:
        raise NotDeployed(f"{name} {version.version} is not deployed")
    return InferenceTarget(name, version.version, serving[0].endpoint or "")
