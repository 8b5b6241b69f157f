"""Retries, backoff, idempotency keys and error mapping of the SDK's HTTP layer.

The server side here is httpx's MockTransport: these tests are about what the client
does with each answer (how often it sends, what it waits, what it raises), not about AWS.
"""

from __future__ import annotations

import httpx
import pytest

from modelport.client import ModelportError, ServerError, TransportError
from modelport.client.errors import ConflictError, RateLimitedError, from_response
from modelport.client.transport import Transport


class Script:
    """Answers requests from a list of (status, json body | None) and records them."""

    def __init__(self, *answers: tuple[int, object]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        if isinstance(body, Exception):
            raise body
        headers = {"Retry-After": "2"} if status == 429 else {}
        return httpx.Response(status, json=body, headers=headers)


def transport(script: Script, sleeps: list[float], retries: int = 3) -> Transport:
    return Transport("http://api.test", "mp_0123456789abcdef_secret", max_retries=retries,
                     sleep=sleeps.append, http_transport=httpx.MockTransport(script))


ERROR = {"error": {"code": "InternalError", "message": "internal error"}}


def test_get_is_retried_on_5xx_with_growing_backoff() -> None:
    script, sleeps = Script((503, ERROR), (500, ERROR), (200, {"items": []})), []
    assert transport(script, sleeps).json("GET", "/v1/models") == {"items": []}
    assert len(script.requests) == 3 and len(sleeps) == 2
    assert all(0 <= s <= 0.2 * 2**i for i, s in enumerate(sleeps))


def test_retry_after_is_honoured_on_429() -> None:
    script, sleeps = Script((429, {"message": "Too Many Requests"}), (200, {})), []
    transport(script, sleeps).json("POST", "/v1/models/m/versions/1.0.0/submit")
    assert sleeps == [2.0] and len(script.requests) == 2


def test_a_plain_post_is_not_resent_after_a_500() -> None:
    script, sleeps = Script((500, ERROR), (200, {})), []
    with pytest.raises(ServerError) as failed:
        transport(script, sleeps).json("POST", "/v1/models/m/versions/1.0.0/approve")
    assert len(script.requests) == 1 and failed.value.code == "InternalError" and failed.value.status == 500


def test_a_post_with_an_idempotency_key_is_resent_with_the_same_key() -> None:
    script, sleeps = Script((502, ERROR), (201, {"name": "m"})), []
    transport(script, sleeps).json("POST", "/v1/models", body={"name": "m"}, idempotency_key="abc")
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys == ["abc", "abc"]


def test_retries_run_out_into_the_matching_error() -> None:
    script, sleeps = Script(*[(429, {"message": "slow down"})] * 3), []
    with pytest.raises(RateLimitedError) as limited:
        transport(script, sleeps, retries=2).json("GET", "/v1/keys")
    assert len(script.requests) == 3 and limited.value.message == "slow down"


def test_an_unreachable_api_is_a_transport_error_without_the_key() -> None:
    script, sleeps = Script(*[(0, httpx.ConnectError("refused"))] * 4), []
    with pytest.raises(TransportError) as down:
        transport(script, sleeps).json("GET", "/v1/models")
    assert len(script.requests) == 4 and "api.test" in down.value.message and "secret" not in down.value.message


def test_auth_header_is_sent_and_hidden_from_repr() -> None:
    script, sleeps = Script((200, {})), []
    t = transport(script, sleeps)
    t.json("GET", "/v1/models")
    assert script.requests[0].headers["Authorization"] == "Bearer mp_0123456789abcdef_secret"
    assert "secret" not in repr(t)


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (409, {"error": {"code": "VersionConflict", "message": "exists"}}, ConflictError, "VersionConflict", "exists"),
        (424, {"ErrorCode": "ModelError", "OriginalMessage": "boom", "Message": "x"}, ModelportError, "ModelError", "boom"),
        (418, "teapot", ModelportError, "HTTP418", "teapot"),
    ],
)
def test_error_bodies_map_to_one_hierarchy(status, body, cls, code, message) -> None:
    error = from_response(status, body)
    assert isinstance(error, cls) and (error.code, error.message, error.status) == (code, message, status)
