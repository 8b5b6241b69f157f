"""CORS for the console's origin only (on AWS the console is a CloudFront site on its own origin)."""

import pytest

from functions.adapters.http import with_cors

CONSOLE = "https://d1234abcd.cloudfront.net"


@pytest.fixture
def console_origin(control_plane_env, monkeypatch):
    from functions.adapters import wiring

    monkeypatch.setenv("MODELPORT_CONSOLE_ORIGIN", CONSOLE)
    wiring.reset()
    yield CONSOLE
    wiring.reset()


def test_the_consoles_origin_may_read_answers_and_errors(console_origin, gateway, make_key):
    token = make_key("consumer")
    ok = gateway.call("GET", "/v1/whoami", token=token, headers={"Origin": CONSOLE})
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] == CONSOLE and ok.headers["Vary"] == "Origin"
    assert ok.headers["Access-Control-Expose-Headers"] == "x-amzn-requestid"
    assert "Access-Control-Allow-Credentials" not in ok.headers
    refused = gateway.call("POST", "/v1/keys", token=token, json_body={"owner": "x", "roles": ["consumer"]},
                           headers={"Origin": CONSOLE})
    assert refused.status == 403 and refused.headers["Access-Control-Allow-Origin"] == CONSOLE


def test_any_other_origin_gets_no_cors_header(console_origin, gateway, make_key):
    token = make_key("consumer")
    for origin in ("https://evil.example", "https://d1234abcd.cloudfront.net.evil.example", "null", None):
        reply = gateway.call("GET", "/v1/whoami", token=token, headers={"Origin": origin} if origin else {})
        assert reply.status == 200 and "Access-Control-Allow-Origin" not in reply.headers, origin
        assert reply.headers["Vary"] == "Origin"


def test_without_a_console_origin_nothing_is_added(control_plane_env, gateway, make_key):
    reply = gateway.call("GET", "/v1/whoami", token=make_key("consumer"), headers={"Origin": CONSOLE})
    assert "Access-Control-Allow-Origin" not in reply.headers and "Vary" not in reply.headers


def test_with_cors_keeps_the_other_headers_in_either_shape():
    event = {"headers": {"origin": CONSOLE}}
    multi = with_cors({"statusCode": 200, "multiValueHeaders": {"Content-Type": ["application/json"]}}, event, CONSOLE)
    assert multi["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert multi["multiValueHeaders"]["Access-Control-Allow-Origin"] == [CONSOLE]
    single = with_cors({"statusCode": 413, "headers": {"Content-Type": "application/json"}}, event, CONSOLE)
    assert single["headers"] == {"Content-Type": "application/json", "Vary": "Origin",
                                 "Access-Control-Allow-Origin": CONSOLE, "Access-Control-Expose-Headers": "x-amzn-requestid"}
