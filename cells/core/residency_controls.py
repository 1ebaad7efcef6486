"""Residency enforced by the clouds themselves: AWS service control policies and GCP's
`gcp.resourceLocations` constraint, one per residency zone. Pure data; no Pulumi.

Documented exceptions (global services a cell needs, each holding no user data):
- IAM, STS, Organizations, Support, Budgets, Health, Trusted Advisor: global control APIs.
- CloudFront, Route53 (and its domains, health checks), WAF for CloudFront, Shield: global edge
  services whose API lives in us-east-1.
- ACM in us-east-1: CloudFront only accepts certificates issued there (a public certificate, no
  user data). ACM elsewhere stays inside the zone.
"""

from __future__ import annotations

from typing import Any

from cells.core.regions import CLOUDFRONT_CERT_REGION, ZONES

GLOBAL_SERVICE_ACTIONS = (
    "iam:*",
    "sts:*",
    "organizations:*",
    "support:*",
    "budgets:*",
    "health:*",
    "trustedadvisor:*",
    "cloudfront:*",
    "route53:*",
    "route53domains:*",
    "waf:*",
    "wafv2:*",
    "shield:*",
    "acm:*",
    "account:*",
    "ce:*",
    "cur:*",
    "pricing:*",
)


def aws_service_control_policy(zone: str) -> dict[str, Any]:
    """Deny every request outside the zone's AWS regions, but for the documented global services."""
    regions = sorted(ZONES[zone].aws_regions)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"DenyOutsideResidencyZone{zone.upper()}",
                "Effect": "Deny",
                "NotAction": list(GLOBAL_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": regions}},
            },
            {
                "Sid": "CertificatesOnlyInZoneOrForCloudFront",
                "Effect": "Deny",
                "Action": ["acm:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": [*regions, CLOUDFRONT_CERT_REGION]}},
            },
        ],
    }


def gcp_allowed_locations(zone: str) -> list[str]:
    """Values for the `gcp.resourceLocations` list constraint of a cell's project."""
    return [ZONES[zone].gcp_location_group]
