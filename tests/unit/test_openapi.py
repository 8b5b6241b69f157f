import json
from pathlib import Path

from functions.openapi import ROUTERS, document
from functions.routes import ROUTES


def test_document_covers_every_route_and_is_committed():
    doc = document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    expected = {(r.method, r.path) for r in ROUTES if r.inference or r.function in ROUTERS}
    assert documented == expected
    assert doc["paths"]["/v1/models"]["post"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert all("422" not in op["responses"] for ops in doc["paths"].values() for op in ops.values())
    committed = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(doc)), "run `make openapi`"
