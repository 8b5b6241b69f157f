"""The API routes as the Api stack builds them, read from the control plane's route table.

`functions/routes.py` lists every route once (contracts.md); the Api stack and the local
gateway are both generated from it. This module only adapts that table to what API Gateway
needs: which Lambda, which authorizer configuration, whether the route is inference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")


class AuthorizerKind(str, Enum):
    """The three authorizer configurations of contracts.md (same Lambda, other identity sources)."""

    CONTROL_PLANE = "control_plane"  # Authorization
    MODEL = "model"  # Authorization + path name
    VERSION = "version"  # Authorization + path name + path spec


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    #: contract name of the Lambda that serves it (`registry`, `keys`, ...); None for inference.
    function: str | None
    inference: bool = False
    public: bool = False

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def oip_v2(self) -> bool:
        """Open Inference Protocol v2 routes end in `/infer`."""
        return self.inference and self.path.rstrip("/").endswith("/infer")

    @property
    def authorizer(self) -> AuthorizerKind | None:
        if self.public:
            return None
        if not self.inference:
            return AuthorizerKind.CONTROL_PLANE
        return AuthorizerKind.VERSION if "spec" in self.path_params else AuthorizerKind.MODEL


def platform_routes() -> tuple[ApiRoute, ...]:
    """Every route of the API, from `functions.routes`."""
    # Provisional table from contracts.md until functions/routes.py lands (issue 2).
    r = ApiRoute
    return (
        r("GET", "/v1/models", "registry"),
        r("POST", "/v1/models", "registry"),
        r("GET", "/v1/models/{name}", "registry"),
        r("GET", "/v1/models/{name}/versions", "registry"),
        r("POST", "/v1/models/{name}/versions", "registry"),
        r("GET", "/v1/models/{name}/versions/{spec}", "registry"),
        r("POST", "/v1/models/{name}/versions/{spec}/submit", "versioning"),
        r("POST", "/v1/models/{name}/versions/{spec}/approve", "versioning"),
        r("POST", "/v1/models/{name}/versions/{spec}/reject", "versioning"),
        r("PUT", "/v1/models/{name}/aliases/{alias}", "versioning"),
        r("GET", "/v1/keys", "keys"),
        r("POST", "/v1/keys", "keys"),
        r("DELETE", "/v1/keys/{key_id}", "keys"),
        r("GET", "/v1/audit", "audit"),
        r("GET", "/v1/audit/verify", "audit"),
        r("GET", "/v1/models/{name}/deployments", "deployments"),
        r("POST", "/v1/models/{name}/deployments", "deployments"),
        r("POST", "/v1/models/{name}/datasets", "retraining"),
        r("POST", "/v1/models/{name}/retrains", "retraining"),
        r("POST", "/v1/models/{name}/invocations", None, inference=True),
        r("POST", "/v1/models/{name}/versions/{spec}/invocations", None, inference=True),
        r("POST", "/v1/models/{name}/infer", None, inference=True),
        r("POST", "/v1/models/{name}/versions/{spec}/infer", None, inference=True),
    )
