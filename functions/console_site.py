"""The web console's static site: its security headers and its `config.json`, defined once.

Like `functions.routes`, this is shared by both composition roots: the local gateway serves
the console at `/console/` with these headers, and the CDK app puts the same headers in the
CloudFront response headers policy in front of the console's bucket. The console's API
client reads `config.json` (where the API is, what the stage allows) at start.
"""

from __future__ import annotations

from typing import Any

#: Where the local gateway serves the console (CloudFront serves it at its root).
LOCAL_PREFIX = "/console/"


def content_security_policy(api_origin: str | None = None) -> str:
    """A strict policy: the bundle's own script and stylesheet only, no inline code, and
    requests only to the console's origin (`config.json`) and the API's."""
    connect = "'self'" + (f" {api_origin}" if api_origin else "")
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        f"connect-src {connect}",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))


#: Headers on every console response besides the CSP (CloudFront: the same, as a policy).
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def console_config(*, api_url: str, instance_types: tuple[str, ...] | list[str], stage: str) -> dict[str, Any]:
    """The console's `config.json`: the API's base URL ("" when the console and the API share
    an origin), the instance types deployments may ask for, and the stage's name."""
    return {"api_url": api_url.rstrip("/"), "instance_types": list(instance_types), "stage": stage}
