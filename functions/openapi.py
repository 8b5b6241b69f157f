"""Generate the control plane's OpenAPI 3 document: `python -m functions.openapi docs/openapi.json`.

The control-plane paths come from the handlers' own Routers (merged into one resolver),
so the document cannot drift from the code; the inference paths, which API Gateway sends
straight to SageMaker, are added from the route table.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from functions.routes import ROUTES

_REF = re.compile(r"#/components/schemas/([A-Za-z0-9_.-]+)")

#: The Router modules of each control-plane Lambda.
ROUTERS = {
    "registry": ("functions.registry.models", "functions.registry.versions", "functions.registry.lifecycle"),
    "versioning": ("functions.versioning.approvals", "functions.versioning.aliases"),
    "keys": ("functions.keys.routes",),
    "audit": ("functions.audit.routes",),
    "deployments": ("functions.deployments.routes",),
    "retraining": ("functions.retraining.routes",),
}

DESCRIPTION = (
    "Modelport control plane and inference. Every route needs `Authorization: Bearer mp_<key id>_<secret>`. "
    "Errors are `{\"error\": {\"code\", \"message\"}}` (400 adds `fields`). A missing or invalid key is a 401; "
    "an inference request the authorizer refuses is a 403 whose `code` says why (Forbidden, ModelNotFound, "
    "VersionNotFound, NotDeployed)."
)


def document() -> dict[str, Any]:
    from functions.adapters.http import ErrorResponse

    app = APIGatewayRestResolver(enable_validation=True)
    for modules in ROUTERS.values():
        for name in modules:
            app.include_router(importlib.import_module(name).router)
    doc = json.loads(
        app.get_openapi_json_schema(
            title="Modelport API",
            version="1.0.0",
            description=DESCRIPTION,
            security_schemes={"apiKey": HTTPBearer(bearerFormat="mp_<key id>_<secret>")},
            security=[{"apiKey": []}],
        )
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    for defs_name, definition in schemas["ErrorResponse"].pop("$defs", {}).items():
        schemas.setdefault(defs_name, definition)
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    for operations in doc["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # validation errors are 400s here (functions.adapters.http)
            for status, text in (("400", "invalid input"), ("401", "missing or invalid API key"), ("403", "forbidden"),
                                 ("404", "not found"), ("409", "conflict")):  # fmt: skip
                responses.setdefault(status, {"description": text, **error})
    for route in ROUTES:
        if route.inference:
            doc["paths"].setdefault(route.path, {})[route.method.lower()] = _inference(route, error)
    _merge_patch(doc, error)
    _prune(doc)
    return doc


def _merge_patch(doc: dict[str, Any], error: dict[str, Any]) -> None:
    """`PATCH /v1/models/{name}` reads its body itself (a JSON Merge Patch, RFC 7386): say what it takes."""
    from functions.core.lifecycle import ModelSettings

    schemas = doc["components"]["schemas"]
    schema = ModelSettings.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas["ModelSettings"] = schema
    body = {"schema": {"$ref": "#/components/schemas/ModelSettings"}}
    operation = doc["paths"]["/v1/models/{name}"]["patch"]
    operation["requestBody"] = {
        "required": True, "content": {"application/merge-patch+json": body, "application/json": body},
        "description": "a merge patch of these settings: members replace, objects merge, null restores a default",
    }
    operation.setdefault("parameters", []).append({
        "name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
        "description": 'the model\'s ETag (its revision, e.g. "3"), or * for any',
    })
    for status, text in (("412", "the revision in If-Match is stale"), ("428", "If-Match is missing")):
        operation["responses"][status] = {"description": text, **error}


def _prune(doc: dict[str, Any]) -> None:
    """Drop component schemas no path reaches (e.g. Powertools' 422 models)."""
    schemas = doc["components"]["schemas"]
    reached: set[str] = set()
    todo = set(_REF.findall(json.dumps(doc["paths"])))
    while todo:
        name = todo.pop()
        if name not in reached and name in schemas:
            reached.add(name)
            todo |= set(_REF.findall(json.dumps(schemas[name])))
    for name in set(schemas) - reached:
        del schemas[name]


def _inference(route: Any, error: dict[str, Any]) -> dict[str, Any]:
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in route.path_params
    ]
    protocol = "Open Inference Protocol v2" if route.oip_v2 else "SageMaker (JSON/CSV, MLflow-style payloads)"
    target = "the version `spec` resolves to" if "spec" in route.path_params else "the `production` alias"
    return {
        "tags": ["inference"],
        "summary": f"Invoke {target} ({protocol})",
        "operationId": f"invoke_{'v2' if route.oip_v2 else 'v1'}_{'version' if 'spec' in route.path_params else 'model'}",
        "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}, "text/csv": {"schema": {}}}},
        "responses": {
            "200": {"description": "the model's prediction", "content": {"application/json": {"schema": {}}}},
            "401": {"description": "missing or invalid API key", **error},
            "403": {"description": "refused: Forbidden, ModelNotFound, VersionNotFound, NotDeployed", **error},
        },
    }


def main(argv: list[str]) -> None:
    text = json.dumps(document(), indent=2, sort_keys=True) + "\n"
    if len(argv) > 1:
        Path(argv[1]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
