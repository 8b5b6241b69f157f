"""A test-only API Gateway: route table → authorizer → handler, with the sample events.

It builds REQUEST-authorizer and proxy events from `tests/events/*.json`, runs the real
authorizer and the real handlers in-process (against moto), and renders authorizer
refusals the way the gateway responses in contracts.md do.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.routes import ROUTES, Route

EVENTS = Path(__file__).parent.parent / "events"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@dataclass
class LambdaContext:
    function_name: str = "modelport-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:modelport-test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


def _matcher(route: Route) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)) + "$")


_MATCHERS = [(route, _matcher(route)) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route, pattern in _MATCHERS:
        found = pattern.match(path)
        if found and route.method == method:
            return route, found.groupdict()
    return None


class Gateway:
    def __init__(self) -> None:
        self.authorizer_calls = 0

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        found = match(method, path)
        if found is None:
            return Reply(404, {"error": {"code": "RouteNotFound", "message": "no such route"}})
        route, params = found
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        auth = self.authorize(route, path, params, hdrs)
        if isinstance(auth, Reply):
            return auth
        if route.inference:
            return Reply(200, {"routed_to": auth["context"]})
        event = sample("api_request")
        event.update(
            resource=route.path,
            path=path,
            httpMethod=method,
            headers=hdrs,
            pathParameters=params or None,
            queryStringParameters=query or None,
            multiValueQueryStringParameters={k: [v] for k, v in (query or {}).items()} or None,
            body=raw_body if raw_body is not None else (json.dumps(json_body) if json_body is not None else None),
        )
        event["requestContext"].update(resourcePath=route.path, httpMethod=method)
        event["requestContext"]["authorizer"] = {**auth["context"], "principalId": auth["principalId"]}
        module = importlib.import_module(f"functions.{route.function}.handler")
        response = module.lambda_handler(event, LambdaContext())
        body = json.loads(response["body"]) if response.get("body") else None
        # API Gateway sends both maps; a REST proxy answer may use either
        headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
        return Reply(response["statusCode"], body, {**headers, **(response.get("headers") or {})})

    def authorize(self, route: Route, path: str, params: dict[str, str], headers: dict[str, str]) -> dict | Reply:
        from functions.auth.handler import lambda_handler

        event = copy.deepcopy(sample("authorizer_request"))
        event.update(
            methodArn=f"arn:aws:execute-api:us-east-1:123456789012:abc123/dev/{route.method}{path}",
            resource=route.path,
            path=path,
            httpMethod=route.method,
            headers=headers,
            pathParameters=params,
        )
        self.authorizer_calls += 1
        try:
            answer = lambda_handler(event, LambdaContext(function_name="authorizer"))
        except Exception as refused:  # noqa: BLE001 - API Gateway's contract: "Unauthorized" → 401
            assert str(refused) == "Unauthorized", refused
            return Reply(401, {"error": {"code": "Unauthenticated", "message": "missing or invalid API key"}})
        statement = answer["policyDocument"]["Statement"][0]
        # inference answers cover their own method ARN, control-plane ones the stage
        assert statement["Resource"] == (event["methodArn"] if route.inference else
                                         "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*")
        if statement["Effect"] != "Allow":
            ctx = answer["context"]
            return Reply(403, {"error": {"code": ctx["code"], "message": ctx["message"]}})
        return answer
