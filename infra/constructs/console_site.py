"""The web console on AWS: a private S3 bucket behind CloudFront with origin access control.

The bucket blocks all public access and answers only CloudFront (OAC signs its requests;
the bucket policy names this distribution). CloudFront adds the console's security headers
(`functions.console_site`: the strict Content-Security-Policy whose `connect-src` is the
API's origin, nosniff, DENY framing, no referrer, HSTS) with a response headers policy.
The build (`console/dist`, `make console`) and a `config.json` naming the API's URL and the
stage's instance types are uploaded by a BucketDeployment, which invalidates the cache.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from functions.console_site import SECURITY_HEADERS, console_config, content_security_policy

DIST = Path(__file__).resolve().parents[2] / "console" / "dist"


class ConsoleSite(Construct):
    """Exposes `bucket`, `distribution`, `headers` (the response headers policy), `deployment`,
    `origin` (`https://<distribution domain>`, the one origin the API answers CORS for)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_url: str,
        api_origin: str,
        instance_types: tuple[str, ...],
        stage: str,
        removal_policy: RemovalPolicy,
        dist: Path = DIST,
    ) -> None:
        super().__init__(scope, id)
        if not (dist / "index.html").is_file():
            raise FileNotFoundError(f"{dist} has no console build: run `make console` first")
        # S3 server access logs and CloudFront standard logs; CloudFront's log delivery writes
        # with ACLs, so this bucket (and only this one) keeps object ACLs enabled.
        self.logs_bucket = s3.Bucket(
            self, "LogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )  # fmt: skip
        self.bucket = s3.Bucket(
            self, "Bucket",
            # public static files, no secrets: SSE-S3 lets CloudFront's OAC read them without a KMS grant
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=removal_policy,
        )  # fmt: skip
        self.headers = cloudfront.ResponseHeadersPolicy(
            self, "Headers",
            comment=f"Modelport {stage} console: strict CSP (connect-src: the API) and security headers",
            security_headers_behavior=_security_headers(content_security_policy(api_origin)),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=[
                cloudfront.ResponseCustomHeader(header="Cross-Origin-Opener-Policy",
                                                value=SECURITY_HEADERS["Cross-Origin-Opener-Policy"], override=True),
            ]),
        )  # fmt: skip
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment=f"Modelport {stage} console",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
        )  # fmt: skip
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.deployment = s3deploy.BucketDeployment(
            self, "Files",
            sources=[
                s3deploy.Source.asset(str(dist), exclude=[".built", "*.map"]),
                s3deploy.Source.json_data("config.json", console_config(
                    api_url=api_url, instance_types=instance_types, stage=stage)),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            memory_limit=256,
        )  # fmt: skip


def _security_headers(csp: str) -> cloudfront.ResponseSecurityHeadersBehavior:
    """`functions.console_site.SECURITY_HEADERS` in CloudFront's terms (tests/infra/test_console.py
    compares the synthesized policy with them)."""
    return cloudfront.ResponseSecurityHeadersBehavior(
        content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(content_security_policy=csp, override=True),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        frame_options=cloudfront.ResponseHeadersFrameOptions(frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True),
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=Duration.seconds(63072000), include_subdomains=True, override=True),
    )  # fmt: skip
