"""The console's static files as the local gateway serves them at /console/."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.console_site import SECURITY_HEADERS, console_config, content_security_policy
from modelport.local.gateway.console import ConsoleSite


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><script type=module src=app.js></script>")
    (root / "app.js").write_text("export {};")
    (root / "app.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


def site(dist: Path | None) -> ConsoleSite:
    return ConsoleSite(dist, console_config(api_url="", instance_types=("ml.m5.large",), stage="local"))


def headers(answer) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in answer[1]}


def test_files_are_served_with_the_strict_policy(dist):
    status, _, body = answer = site(dist).respond("GET", "/console/")
    assert status == 200 and body.startswith(b"<!doctype html>")
    got = headers(answer)
    assert got["content-type"] == "text/html; charset=utf-8"
    assert got["content-security-policy"] == content_security_policy()
    policy = dict(part.split(" ", 1) for part in got["content-security-policy"].split("; "))
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in got["content-security-policy"] and "unsafe-eval" not in got["content-security-policy"]
    for name, value in SECURITY_HEADERS.items():
        if name != "Strict-Transport-Security":
            assert got[name.lower()] == value
    js = site(dist).respond("GET", "/console/app.js")
    assert js[0] == 200 and headers(js)["content-type"] == "text/javascript; charset=utf-8"


def test_config_comes_from_the_platform(dist):
    status, _, body = answer = site(dist).respond("GET", "/console/config.json")
    assert status == 200 and headers(answer)["cache-control"] == "no-store"
    assert body == b'{"api_url":"","instance_types":["ml.m5.large"],"stage":"local"}'


def test_only_files_of_the_build_are_served(dist):
    s = site(dist)
    for path in ("/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/nope.js", "/console/..\\secret.txt"):
        status, _, body = s.respond("GET", path)
        assert status == 404 and b"outside" not in body, path
    assert s.respond("POST", "/console/index.html")[0] == 405
    assert s.respond("GET", "/console")[:2] == (308, [(b"location", b"/console/")])
    assert s.respond("GET", "/v1/models") is None
    assert s.respond("HEAD", "/console/app.js")[2] == b""


def test_an_unbuilt_console_says_how_to_build_it(tmp_path):
    status, _, body = site(tmp_path / "missing").respond("GET", "/console/")
    assert status == 503 and b"make console" in body


def test_the_cloudfront_policy_adds_only_the_api_origin():
    policy = content_security_policy("https://abc.execute-api.eu-west-1.amazonaws.com")
    assert "connect-src 'self' https://abc.execute-api.eu-west-1.amazonaws.com;" in policy
