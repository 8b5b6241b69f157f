"""The route table: every API route once (contracts.md).

The CDK Api stack and the local gateway are generated from `ROUTES`; the handlers'
Routers are checked against it by the tests, and the authorizer uses it to tell
inference routes from control-plane routes. Paths use API Gateway's `{param}` syntax.
API Gateway needs sibling path variables to share a name, so everything under
`/versions/` is `{spec}` (an exact version where the route needs one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.apigw import AuthorizerKind

_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\}")

@dataclass(frozen=True)
class Route:
    method: str
    path: str
    #: contract name of the Lambda serving it (`registry`, `versioning`, ...); None for inference,
    #: which API Gateway integrates with SageMaker runtime directly.
    function: str | None
    inference: bool = False
    #: public routes run no authorizer.
    public: bool = False

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def authorizer(self) -> AuthorizerKind | None:
        """Which authorizer configuration guards the route (`functions.apigw.AUTHORIZERS`)."""
        if self.public:
            return None
        return "inference" if self.inference else "control_plane"

    @property
    def oip_v2(self) -> bool:
        """Open Inference Protocol v2 routes (`/v2/.../infer`)."""
        return self.inference and self.path.startswith("/v2/")

    @property
    def powertools_path(self) -> str:
        """The same path in Powertools' `<param>` syntax."""
        return _PARAM.sub(r"<\1>", self.path)


def _r(method: str, path: str, function: str | None, **flags: bool) -> Route:
    return Route(method, path, function, **flags)


ROUTES: tuple[Route, ...] = (
    # registry: models and versions
    _r("POST", "/v1/models", "registry"),
    _r("GET", "/v1/models", "registry"),
    _r("GET", "/v1/models/{name}", "registry"),
    _r("PATCH", "/v1/models/{name}", "registry"),
    _r("POST", "/v1/models/{name}/retire", "registry"),
    _r("GET", "/v1/models/{name}/changes", "registry"),
    _r("GET", "/v1/models/{name}/changes/{change_id}", "registry"),
    _r("POST", "/v1/models/{name}/changes/{change_id}/confirm", "registry"),
    _r("POST", "/v1/models/{name}/changes/{change_id}/reject", "registry"),
    _r("POST", "/v1/models/{name}/versions", "registry"),
    _r("GET", "/v1/models/{name}/versions", "registry"),
    _r("GET", "/v1/models/{name}/versions/{spec}", "registry"),
    # versioning: approvals and aliases
    _r("POST", "/v1/models/{name}/versions/{spec}/submit", "versioning"),
    _r("POST", "/v1/models/{name}/versions/{spec}/approve", "versioning"),
    _r("POST", "/v1/models/{name}/versions/{spec}/reject", "versioning"),
    _r("POST", "/v1/models/{name}/versions/{spec}/archive", "versioning"),
    _r("POST", "/v1/models/{name}/versions/{spec}/revalidate", "versioning"),
    _r("PUT", "/v1/models/{name}/aliases/{alias}", "versioning"),
    _r("GET", "/v1/models/{name}/aliases", "versioning"),
    _r("GET", "/v1/models/{name}/aliases/{alias}/history", "versioning"),
    # keys and audit
    _r("POST", "/v1/keys", "keys"),
    _r("GET", "/v1/keys", "keys"),
    _r("DELETE", "/v1/keys/{key_id}", "keys"),
    _r("POST", "/v1/keys/{key_id}/rotate", "keys"),
    _r("GET", "/v1/whoami", "keys"),
    _r("GET", "/v1/audit", "audit"),
    _r("GET", "/v1/audit/verify", "audit"),
    _r("GET", "/v1/models/{name}/versions/{spec}/evidence", "audit"),
    # deployments and retraining
    _r("POST", "/v1/models/{name}/deployments", "deployments"),
    _r("GET", "/v1/models/{name}/deployments", "deployments"),
    _r("GET", "/v1/models/{name}/deployments/{deployment_id}", "deployments"),
    _r("POST", "/v1/models/{name}/datasets", "retraining"),
    _r("GET", "/v1/models/{name}/retrains", "retraining"),
    _r("GET", "/v1/models/{name}/retrains/{retrain_id}", "retraining"),
    # monitoring: drift runs, reports, ground truth
    _r("GET", "/v1/models/{name}/monitoring", "monitoring"),
    _r("POST", "/v1/models/{name}/monitoring/runs", "monitoring"),
    _r("GET", "/v1/models/{name}/monitoring/runs/{run_id}", "monitoring"),
    _r("GET", "/v1/models/{name}/monitoring/reports/{run_id}", "monitoring"),
    _r("POST", "/v1/models/{name}/feedback", "monitoring"),
    # inference: API Gateway → SageMaker runtime, routed by the authorizer's `endpoint`
    _r("POST", "/v1/models/{name}/invocations", None, inference=True),
    _r("POST", "/v1/models/{name}/versions/{spec}/invocations", None, inference=True),
    _r("POST", "/v2/models/{name}/infer", None, inference=True),
    _r("POST", "/v2/models/{name}/versions/{spec}/infer", None, inference=True),
)

_BY_KEY = {(r.method, r.path): r for r in ROUTES}


def find(method: str, path_template: str) -> Route | None:
    """The route for an API Gateway `httpMethod` and `resource` (path template)."""
    return _BY_KEY.get((method.upper(), path_template))


def for_function(name: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if r.function == name)


FUNCTIONS = tuple(dict.fromkeys(r.function for r in ROUTES if r.function))
