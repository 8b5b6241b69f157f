"""The web console on AWS: private bucket, CloudFront with OAC and the console's security
headers, its build and config uploaded, and CORS on the API for the console's origin only."""

from __future__ import annotations

import json

from functions.console_site import SECURITY_HEADERS
from functions.routes import ROUTES
from tests.infra.conftest import resources
from tests.infra.test_api import _methods


def _one(template, kind: str) -> dict:
    [found] = resources(template, kind).values()
    return found["Properties"]


def _joined(value) -> str:
    """A CloudFormation string as text, tokens as <Ref> / <Resource.Attr>."""
    if isinstance(value, str):
        return value
    (kind, arg), = value.items()
    if kind == "Fn::Join":
        return arg[0].join(_joined(v) for v in arg[1])
    if kind == "Ref":
        return f"<{arg}>"
    if kind == "Fn::GetAtt":
        return f"<{arg[0]}.{arg[1]}>"
    return f"<{kind}>"


def _distribution_domain(template) -> str:
    [logical_id] = resources(template, "AWS::CloudFront::Distribution")
    return f"https://<{logical_id}.DomainName>"


def test_the_bucket_is_private_and_read_only_by_this_distribution(templates):
    template = templates["api"]
    buckets = resources(template, "AWS::S3::Bucket")
    for bucket in buckets.values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    oac = _one(template, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == ("s3", "always", "sigv4")
    [origin] = _one(template, "AWS::CloudFront::Distribution")["DistributionConfig"]["Origins"]
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    reads = [s for p in resources(template, "AWS::S3::BucketPolicy").values()
             for s in p["Properties"]["PolicyDocument"]["Statement"] if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert len(reads) == 1 and reads[0]["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in reads[0]["Condition"]["StringEquals"]  # this distribution only


def test_cloudfront_adds_the_consoles_security_headers_and_csp(templates):
    template = templates["api"]
    config = _one(template, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    csp = _joined(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    policy = dict(part.split(" ", 1) for part in csp.split("; "))
    [api] = resources(template, "AWS::ApiGateway::RestApi")
    assert policy["connect-src"] == f"'self' https://<{api}>.execute-api.us-east-1.<AWS::URLSuffix>"
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'none'" and "unsafe" not in csp
    assert security["FrameOptions"]["FrameOption"] == SECURITY_HEADERS["X-Frame-Options"]
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == SECURITY_HEADERS["Referrer-Policy"]
    hsts = security["StrictTransportSecurity"]
    assert f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains" == SECURITY_HEADERS["Strict-Transport-Security"]
    assert hsts["IncludeSubdomains"] is True and security["ContentTypeOptions"]["Override"] is True
    [custom] = config["CustomHeadersConfig"]["Items"]
    assert (custom["Header"], custom["Value"]) == ("Cross-Origin-Opener-Policy", SECURITY_HEADERS["Cross-Origin-Opener-Policy"])
    behavior = _one(template, "AWS::CloudFront::Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https" and behavior["AllowedMethods"] == ["GET", "HEAD"]


def test_the_build_and_its_config_are_uploaded_and_the_cache_invalidated(templates):
    template = templates["api"]
    [deployment] = [r["Properties"] for r in resources(template, "Custom::CDKBucketDeployment").values()]
    assert len(deployment["SourceBucketNames"]) == 2 and deployment["DistributionPaths"] == ["/*"]
    assert deployment["Prune"] is True
    # config.json names the API by its URL (its tokens are filled in at deploy time)
    [api] = resources(template, "AWS::ApiGateway::RestApi")
    [url] = [_joined(v) for markers in deployment["SourceMarkers"] for v in markers.values()]
    assert url == f'"https://<{api}>.execute-api.us-east-1.<AWS::URLSuffix>/dev"'


def test_the_api_answers_cors_for_the_consoles_origin_only(templates):
    template = templates["api"]
    origin = _distribution_domain(template)
    methods = _methods(templates)
    control_plane = {r.path for r in ROUTES if not r.inference}
    for path in control_plane:
        preflight = methods[("OPTIONS", path)]
        assert preflight["AuthorizationType"] == "NONE"  # browsers send preflights without credentials
        headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert _joined(headers["method.response.header.Access-Control-Allow-Origin"]) == f"'{origin}'"
        allowed = {r.method for r in ROUTES if r.path == path}
        assert set(headers["method.response.header.Access-Control-Allow-Methods"].strip("'").split(",")) == allowed
        assert headers["method.response.header.Access-Control-Allow-Headers"] == "'Authorization,Content-Type,Idempotency-Key'"
    assert not [p for (m, p) in methods if m == "OPTIONS" and p not in control_plane]
    for fn in resources(template, "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if fn["Properties"].get("Handler", "").startswith(("functions.registry", "functions.keys", "functions.audit")):
            assert _joined(env["MODELPORT_CONSOLE_ORIGIN"]) == origin
    for response in resources(template, "AWS::ApiGateway::GatewayResponse").values():
        headers = response["Properties"]["ResponseParameters"]
        assert _joined(headers["gatewayresponse.header.Access-Control-Allow-Origin"]) == f"'{origin}'"


def test_a_stage_can_go_without_the_console():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.platform import build_platform
    from infra.settings import load_stage_settings
    from tests.infra.conftest import cdk_context

    app = cdk.App(context=cdk_context(console="false"))
    built = build_platform(app, load_stage_settings(app.node.try_get_context), bundle=False)
    template = Template.from_stack(built.api).to_json()
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::CloudFront::Distribution" not in kinds and built.api.console is None
    assert not [r for r in template["Resources"].values()
                if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["HttpMethod"] == "OPTIONS"]
    assert "MODELPORT_CONSOLE_ORIGIN" not in json.dumps(template)
