"""Who may do what: roles per action and model patterns.

Every role can read and invoke; publishers create models and publish and submit versions;
approvers decide on versions and read the audit log; admins do everything, including
managing keys. Aliases may be moved by publishers, approvers and admins (the policy, not
the role, guards `production`). Workflows act as a system principal with the admin role.
Other parts add their own actions with `require(ctx.actor, ROLE_SET, model)`.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from functions.core.errors import Forbidden
from functions.core.models import Principal, Role

ANY_ROLE = frozenset(Role)
READ = ANY_ROLE
INVOKE = ANY_ROLE
PUBLISH = frozenset({Role.publisher, Role.admin})
DECIDE = frozenset({Role.approver, Role.admin})
MOVE_ALIAS = frozenset({Role.publisher, Role.approver, Role.admin})
READ_AUDIT = frozenset({Role.approver, Role.admin})
MANAGE_KEYS = frozenset({Role.admin})
DEPLOY = MOVE_ALIAS
ARCHIVE = MOVE_ALIAS

#: Every action by name, with the roles that may take it: what `GET /v1/whoami` tells a
#: caller it may do (the console shows the rest as unavailable instead of failing on a click).
ACTIONS: dict[str, frozenset[Role]] = {
    "read": READ,
    "invoke": INVOKE,
    "publish": PUBLISH,
    "decide": DECIDE,
    "archive": ARCHIVE,
    "move_alias": MOVE_ALIAS,
    "deploy": DEPLOY,
    #: run the drift job on demand (the same people who deploy)
    "monitor": DEPLOY,
    "read_audit": READ_AUDIT,
    "manage_keys": MANAGE_KEYS,
}


class Permission(BaseModel):
    """Whether an actor's roles allow one action (model patterns still apply per model)."""

    model_config = ConfigDict(frozen=True)

    action: str
    allowed: bool
    #: the roles that allow it
    roles: list[Role]


def permissions(actor: Principal) -> list[Permission]:
    """What `actor`'s roles allow, action by action."""
    return [
        Permission(action=action, allowed=bool(actor.roles & roles), roles=sorted(roles, key=lambda r: r.value))
        for action, roles in ACTIONS.items()
    ]


def require(actor: Principal, roles: Iterable[Role], model: str | None = None, *, doing: str = "") -> None:
    """Raise Forbidden unless `actor` has one of `roles` and (for a model) a matching pattern."""
    allowed = frozenset(roles)
    if not actor.roles & allowed:
        need = " or ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"{doing or 'this'} needs the {need} role")
    if model is not None and not actor.covers(model):
        raise Forbidden(f"this key's model patterns do not cover {model!r}")
