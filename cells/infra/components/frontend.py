"""The cell's web frontend: a private bucket served by CloudFront through origin access control."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.regions import CLOUDFRONT_CERT_REGION
from cells.infra.components.bucket import SecureBucket, SecureBucketArgs
from cells.infra.components.policy_documents import document, statement
from cells.infra.components.protection import kept

# AWS's managed "CachingOptimized" cache policy.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@dataclass(frozen=True)
class FrontendArgs:
    host_name: str
    price_class: str
    account_id: pulumi.Input[str]
    access_log_bucket: pulumi.Input[str]
    certify: Callable[..., pulumi.Output[str]] | None = None
    """Validates the certificate through the edge's DNS and returns its ARN once issued."""
    connect_origins: tuple[pulumi.Input[str], ...] = ()
    """Origins the app fetches from (the APIs, sign-in): its CSP connect-src."""


CLOUDFRONT_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    # VPNs, Tor and proxies (the API refuses them too); hosting providers only counted.
    "AWSManagedRulesAnonymousIpList",
)
COUNT_ONLY = {
    "AWSManagedRulesAnonymousIpList": [{"name": "HostingProviderIPList", "action_to_use": {"count": {}}}]
}


def cloudfront_web_acl(name: str, opts: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    """The distribution's web ACL. CloudFront-scope ACLs exist only in us-east-1, like the
    certificate: a documented residency exception that holds no user data, because it keeps no logs
    and no sampled requests (client addresses and headers), only request counts."""
    visibility: Any = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": False}
    rules: list[Any] = [
        {
            "name": group,
            "priority": i,
            "override_action": {"none": {}},
            "statement": {
                "managed_rule_group_statement": {
                    "name": group,
                    "vendor_name": "AWS",
                    **({"rule_action_overrides": COUNT_ONLY[group]} if group in COUNT_ONLY else {}),
                }
            },
            "visibility_config": {**visibility, "metric_name": f"{name}-cdn-{group}"},
        }
        for i, group in enumerate(CLOUDFRONT_MANAGED_RULE_GROUPS)
    ]
    acl_visibility: Any = {**visibility, "metric_name": f"{name}-cdn-waf"}
    return aws.wafv2.WebAcl(
        f"{name}-cdn-waf",
        scope="CLOUDFRONT",
        region=CLOUDFRONT_CERT_REGION,
        default_action={"allow": {}},
        rules=rules,
        visibility_config=acl_visibility,
        opts=opts,
    )


class Frontend(pulumi.ComponentResource):
    def __init__(self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:web:Frontend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = kept(self)
        # The site's own key: its policy names the one distribution that may decrypt, which exists
        # only after the bucket does, so the policy is a separate resource (the key starts with
        # KMS's default policy: this account's administrators only).
        self.key = aws.kms.Key(
            f"{name}-site-key",
            description=f"MyARK {name} frontend bucket",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=keep,
        )
        self.store = SecureBucket(
            f"{name}-site",
            SecureBucketArgs(
                kms_key_arn=self.key.arn,
                noncurrent_version_days=30,
                access_log_bucket=args.access_log_bucket,
                defer_policy=True,
            ),
            opts=child,
        )
        # CloudFront only accepts certificates from us-east-1: the one documented residency exception
        # (a public certificate, no user data).
        self.certificate = aws.acm.Certificate(
            f"{name}-cdn-cert",
            domain_name=args.host_name,
            validation_method="DNS",
            region=CLOUDFRONT_CERT_REGION,
            opts=child,
        )
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            description=f"{name}: CloudFront reads the private bucket",
            opts=child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": 63072000,
                    "include_subdomains": True,
                    "preload": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
                "content_security_policy": {
                    # connect-src falls back to default-src: without it the app could not call its API.
                    "content_security_policy": pulumi.Output.all(*args.connect_origins).apply(
                        lambda origins: (
                            " ".join(["default-src 'self'; connect-src 'self'", *origins])
                            + "; frame-ancestors 'none'; object-src 'none'"
                        )
                    ),
                    "override": True,
                },
            },
            opts=child,
        )
        self.web_acl = cloudfront_web_acl(name, child)
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            web_acl_id=self.web_acl.arn,
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            aliases=[args.host_name],
            default_root_object="index.html",
            origins=[
                {
                    "origin_id": "site",
                    "domain_name": self.store.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": oac.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": "site",
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": headers.id,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": (
                    args.certify(
                        f"{name}-cdn-cert", self.certificate, (args.host_name,), CLOUDFRONT_CERT_REGION
                    )
                    if args.certify
                    else self.certificate.arn
                ),
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            opts=child,
        )
        self.store.put_policy(
            [
                statement(
                    "Allow",
                    ["s3:GetObject"],
                    self.store.bucket.arn.apply(lambda a: f"{a}/*"),
                    Sid="CloudFrontOriginAccess",
                    Principal={"Service": "cloudfront.amazonaws.com"},
                    Condition={"StringEquals": {"AWS:SourceArn": self.distribution.arn}},
                )
            ]
        )
        root = pulumi.Output.from_input(args.account_id).apply(lambda a: f"arn:aws:iam::{a}:root")
        aws.kms.KeyPolicy(
            f"{name}-site-key-policy",
            key_id=self.key.key_id,
            policy=pulumi.Output.json_dumps(
                document(
                    statement("Allow", ["kms:*"], "*", Sid="AccountAdministers", Principal={"AWS": root}),
                    statement(
                        "Allow",
                        ["kms:Decrypt"],
                        "*",
                        Sid="ThisDistributionOnly",
                        Principal={"Service": "cloudfront.amazonaws.com"},
                        Condition={"StringEquals": {"aws:SourceArn": self.distribution.arn}},
                    ),
                )
            ),
            opts=child,
        )
        self.register_outputs({"domain_name": self.distribution.domain_name})
