"""Exposure: public access to S3, TLS on listeners and CloudFront, who may admit the internet."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_support import API_URN, LB_URN, SG_RULE, one, run

from cells.guardrails.policies.exposure import (
    ACL_NOT_PUBLIC,
    ALB_SSL_POLICIES,
    BUCKET_POLICY_NOT_PUBLIC,
    CLOUDFRONT_TLS,
    LISTENER_TLS,
    PUBLIC_ACCESS_BLOCK,
    WORLD_INGRESS,
)
from cells.guardrails.policies.resource_types import CLOUDFRONT_DISTRIBUTION, S3_BUCKET_POLICY

# --- public access ----------------------------------------------------------------------------------

BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


def test_public_access_block_with_all_four_flags_passes() -> None:
    assert run(PUBLIC_ACCESS_BLOCK, BLOCK, ALL_BLOCKED) == []


def test_public_access_block_with_a_flag_off_is_stopped() -> None:
    message = one(
        PUBLIC_ACCESS_BLOCK, BLOCK, {**ALL_BLOCKED, "blockPublicPolicy": False, "ignorePublicAcls": None}
    )
    assert message.startswith(
        "public access is not fully blocked: blockPublicPolicy, ignorePublicAcls not true."
    )


def _policy(*statements: dict) -> dict:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}, id="deny-everyone"
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": "*",
            },
            id="service-principal",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
            },
            id="everyone-with-condition",
        ),
    ],
)
def test_private_bucket_policies_pass(statement: dict) -> None:
    assert run(BUCKET_POLICY_NOT_PUBLIC, S3_BUCKET_POLICY, _policy(statement)) == []


@pytest.mark.parametrize(
    "principal",
    [
        pytest.param("*", id="star"),
        pytest.param({"AWS": "*"}, id="aws-star"),
        pytest.param({"AWS": ["arn:aws:iam::1:root", "*"]}, id="aws-list-with-star"),
    ],
)
def test_public_bucket_policies_are_stopped(principal: Any) -> None:
    statement = {
        "Sid": "Open",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    message = one(BUCKET_POLICY_NOT_PUBLIC, S3_BUCKET_POLICY, _policy(statement))
    assert message.startswith(
        "bucket policy statement 'Open' allows anyone (Principal *) without a Condition."
    )


def test_public_acls_are_stopped() -> None:
    acl = "aws:s3/bucketAcl:BucketAcl"
    assert run(ACL_NOT_PUBLIC, acl, {"acl": "private"}) == []
    assert one(ACL_NOT_PUBLIC, acl, {"acl": "public-read"}).startswith("the canned ACL 'public-read'")
    grant = {
        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "permission": "READ",
    }
    message = one(ACL_NOT_PUBLIC, acl, {"accessControlPolicy": {"grants": [grant], "owner": {"id": "o"}}})
    assert message.startswith("an ACL grant gives READ to AllUsers.")


# --- TLS ------------------------------------------------------------------------------------------

LISTENER = "aws:lb/listener:Listener"


@pytest.mark.parametrize("policy", sorted(ALB_SSL_POLICIES))
def test_https_listeners_with_a_tls12_policy_pass(policy: str) -> None:
    assert run(LISTENER_TLS, LISTENER, {"protocol": "HTTPS", "port": 443.0, "sslPolicy": policy}) == []


def test_https_listener_with_an_old_policy_is_stopped() -> None:
    message = one(LISTENER_TLS, LISTENER, {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"})
    assert message.startswith(
        "the HTTPS listener's sslPolicy is 'ELBSecurityPolicy-2016-08', not a TLS 1.2+ policy."
    )
    assert "unset (AWS then picks ELBSecurityPolicy-2016-08" in one(
        LISTENER_TLS, LISTENER, {"protocol": "HTTPS"}
    )


def test_http_listeners_may_only_redirect_to_https() -> None:
    redirect = {
        "type": "redirect",
        "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
    }
    assert run(LISTENER_TLS, LISTENER, {"protocol": "HTTP", "defaultActions": [redirect]}) == []
    forward = {"type": "forward", "targetGroupArn": "arn:tg"}
    message = one(LISTENER_TLS, LISTENER, {"protocol": "HTTP", "defaultActions": [forward]})
    assert message.startswith("the HTTP listener does more than redirect to HTTPS")
    assert "speaks TCP, which carries no TLS" in one(LISTENER_TLS, LISTENER, {"protocol": "TCP"})


def _distribution(version: str = "TLSv1.2_2021", viewer: str = "redirect-to-https", **extra: Any) -> dict:
    return {
        "viewerCertificate": {
            "acmCertificateArn": "arn:c",
            "minimumProtocolVersion": version,
            "sslSupportMethod": "sni-only",
        },
        "defaultCacheBehavior": {"viewerProtocolPolicy": viewer},
        **extra,
    }


def test_cloudfront_with_tls12_and_https_everywhere_passes() -> None:
    assert run(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, _distribution()) == []
    assert run(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, _distribution("TLSv1.2_2025", "https-only")) == []


def test_cloudfront_below_tls12_2021_is_stopped() -> None:
    message = one(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, _distribution("TLSv1.2_2019"))
    assert message.startswith(
        "viewerCertificate.minimumProtocolVersion is 'TLSv1.2_2019', below TLSv1.2_2021."
    )
    default_cert = {
        "viewerCertificate": {"cloudfrontDefaultCertificate": True},
        "defaultCacheBehavior": {"viewerProtocolPolicy": "https-only"},
    }
    assert "CloudFront's default certificate" in one(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, default_cert)


def test_cloudfront_plain_http_on_any_behavior_is_stopped() -> None:
    message = one(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, _distribution(viewer="allow-all"))
    assert message.startswith("defaultCacheBehavior.viewerProtocolPolicy is 'allow-all'")
    props = _distribution(
        orderedCacheBehaviors=[
            {"pathPattern": "/a", "viewerProtocolPolicy": "https-only"},
            {"pathPattern": "/b", "viewerProtocolPolicy": "allow-all"},
        ]
    )
    assert one(CLOUDFRONT_TLS, CLOUDFRONT_DISTRIBUTION, props).startswith("orderedCacheBehaviors[1].")


# --- security groups ------------------------------------------------------------------------------


def _rule(cidr: str, port: int, **extra: Any) -> dict:
    return {"cidrIpv4": cidr, "ipProtocol": "tcp", "fromPort": float(port), "toPort": float(port), **extra}


def test_the_load_balancer_may_admit_the_world_on_80_and_443() -> None:
    for port in (80, 443):
        assert (
            run(WORLD_INGRESS, SG_RULE, _rule("0.0.0.0/0", port), urn=LB_URN.format(SG_RULE, "ingress")) == []
        )
    assert run(WORLD_INGRESS, SG_RULE, _rule("10.32.0.0/16", 22), urn=API_URN.format(SG_RULE, "x")) == []


def test_world_ingress_on_ssh_is_stopped_even_on_the_load_balancer() -> None:
    message = one(WORLD_INGRESS, SG_RULE, _rule("0.0.0.0/0", 22), urn=LB_URN.format(SG_RULE, "ingress-22"))
    assert message.startswith(
        "ingress from 0.0.0.0/0 on port 22; the internet may reach only ports 80 and 443."
    )


def test_world_ingress_outside_the_load_balancer_is_stopped() -> None:
    message = one(
        WORLD_INGRESS,
        SG_RULE,
        {"cidrIpv6": "::/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        urn=API_URN.format(SG_RULE, "open"),
    )
    assert message.startswith(
        "ingress from ::/0 on port 443 outside a load balancer (myark:network:LoadBalancer)"
    )


def test_inline_and_legacy_rules_are_read_too() -> None:
    group = {
        "ingress": [
            {"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ["10.0.0.0/8"]},
        ]
    }
    assert "on port 22;" in one(WORLD_INGRESS, "aws:ec2/securityGroup:SecurityGroup", group)
    legacy = {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}
    assert "on all ports;" in one(WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", legacy)
    ranged = {
        "type": "ingress",
        "protocol": "tcp",
        "fromPort": 0,
        "toPort": 65535,
        "cidrBlocks": ["0.0.0.0/0"],
    }
    assert "on ports 0-65535;" in one(WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", ranged)
    egress = {**ranged, "type": "egress"}
    assert run(WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", egress) == []
