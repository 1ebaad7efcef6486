"""Exposure: public access to S3 (access blocks, bucket policies, ACLs), TLS in transit (load balancer
listeners, CloudFront), and the network (who may admit the internet, on which ports)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cells.guardrails.policies.readers import _document, _get, _int, _items, _maps, _statements
from cells.guardrails.policies.registry import MANDATORY, resource_policy
from cells.guardrails.policies.resource_types import (
    CLOUDFRONT_DISTRIBUTION,
    LISTENERS,
    S3_ACLS,
    S3_BUCKET,
    S3_BUCKET_POLICY,
    S3_OBJECTS,
    S3_PUBLIC_ACCESS_BLOCKS,
    SECURITY_GROUPS,
    SG_INGRESS_RULE,
    SG_RULE,
)

# --- public access -----------------------------------------------------------------------------------

PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})

PUBLIC_GRANTEE_URIS = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)


@resource_policy(
    "s3-public-access-block",
    "S3 public access blocks turn on all four flags.",
    MANDATORY,
    remediation="set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to True "
    "(SecureBucket does).",
)
def PUBLIC_ACCESS_BLOCK(args: Any) -> Iterator[str]:
    if args.resource_type not in S3_PUBLIC_ACCESS_BLOCKS:
        return
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [f for f in flags if args.props.get(f) is not True]
    if off:
        yield f"public access is not fully blocked: {', '.join(off)} not true."


def _public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    aws = _get(principal, "AWS") if isinstance(principal, Mapping) else None
    return "*" in _items(aws)


@resource_policy(
    "s3-bucket-policy-not-public",
    "No bucket policy allows anyone (Principal *) without a Condition.",
    MANDATORY,
    remediation="name the principal (a role, or a service with an aws:SourceArn/aws:SourceAccount Condition); serve "
    "public content through CloudFront with origin access control.",
)
def BUCKET_POLICY_NOT_PUBLIC(args: Any) -> Iterator[str]:
    if args.resource_type == S3_BUCKET_POLICY:
        document = args.props.get("policy")
    elif args.resource_type == S3_BUCKET:
        document = args.props.get("policy")
        if document is None:
            return
    else:
        return
    for st in _statements(_document(document)):
        if st.get("Effect") == "Allow" and _public_principal(st.get("Principal")) and not st.get("Condition"):
            sid = f" {st.get('Sid')!r}" if st.get("Sid") else ""
            yield f"bucket policy statement{sid} allows anyone (Principal *) without a Condition."


@resource_policy(
    "s3-acl-not-public",
    "No S3 ACL grants access to everyone or to any AWS account.",
    MANDATORY,
    remediation="remove the ACL: buckets use BucketOwnerEnforced ownership and grant access by policy only.",
)
def ACL_NOT_PUBLIC(args: Any) -> Iterator[str]:
    if args.resource_type not in (*S3_ACLS, S3_BUCKET, *S3_OBJECTS):
        return
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"the canned ACL {acl!r} makes data readable outside the account."
    for grant in _maps(_get(args.props, "accessControlPolicy", "grants")):
        uri = _get(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEE_URIS:
            yield f"an ACL grant gives {_get(grant, 'permission')} to {uri.rsplit('/', 1)[-1]}."


# --- TLS in transit ----------------------------------------------------------------------------------


# ELB policies whose minimum is TLS 1.2 and whose ciphers are all forward secret.
ALB_SSL_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    }
)

# CloudFront's viewer security policies, oldest first (AWS "Supported protocols and ciphers").
CLOUDFRONT_TLS_VERSIONS = (
    "SSLv3",
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
    "TLSv1.2_2025",
    "TLSv1.3_2025",
)

CLOUDFRONT_MIN_TLS = "TLSv1.2_2021"

HTTPS_VIEWER_POLICIES = frozenset({"redirect-to-https", "https-only"})


@resource_policy(
    "alb-listener-tls",
    "Load balancer listeners serve HTTPS with a TLS 1.2+ policy; HTTP only redirects to HTTPS.",
    MANDATORY,
    remediation=f"use protocol HTTPS with ssl_policy one of {', '.join(sorted(ALB_SSL_POLICIES))}; make an HTTP "
    "listener's only default action a redirect to HTTPS.",
)
def LISTENER_TLS(args: Any) -> Iterator[str]:
    if args.resource_type not in LISTENERS:
        return
    protocol = str(args.props.get("protocol") or "HTTP").upper()  # an ALB listener defaults to HTTP
    if protocol in ("HTTPS", "TLS"):
        policy = args.props.get("sslPolicy")
        if policy not in ALB_SSL_POLICIES:
            shown = repr(policy) if policy else "unset (AWS then picks ELBSecurityPolicy-2016-08, TLS 1.0)"
            yield f"the {protocol} listener's sslPolicy is {shown}, not a TLS 1.2+ policy."
    elif protocol == "HTTP":
        actions = _maps(args.props.get("defaultActions"))
        redirects = [
            a
            for a in actions
            if a.get("type") == "redirect" and str(_get(a, "redirect", "protocol") or "").upper() == "HTTPS"
        ]
        if not actions or len(redirects) != len(actions):
            yield "the HTTP listener does more than redirect to HTTPS: plain HTTP would reach the service."
    else:
        yield f"the listener speaks {protocol}, which carries no TLS; only HTTPS (and HTTP redirects) may."


@resource_policy(
    "cloudfront-tls",
    "CloudFront distributions require TLS 1.2+ and HTTPS on every cache behavior.",
    MANDATORY,
    remediation=f"use an ACM certificate with minimum_protocol_version {CLOUDFRONT_MIN_TLS} (or newer) and "
    "viewer_protocol_policy 'redirect-to-https' or 'https-only' on every cache behavior.",
)
def CLOUDFRONT_TLS(args: Any) -> Iterator[str]:
    if args.resource_type != CLOUDFRONT_DISTRIBUTION:
        return
    cert = args.props.get("viewerCertificate")
    version = _get(cert, "minimumProtocolVersion")
    if _get(cert, "cloudfrontDefaultCertificate") is True:
        yield "the distribution uses CloudFront's default certificate, which still accepts TLS 1.0."
    elif version not in CLOUDFRONT_TLS_VERSIONS or (
        CLOUDFRONT_TLS_VERSIONS.index(version) < CLOUDFRONT_TLS_VERSIONS.index(CLOUDFRONT_MIN_TLS)
    ):
        yield f"viewerCertificate.minimumProtocolVersion is {version!r}, below {CLOUDFRONT_MIN_TLS}."
    behaviors = [("defaultCacheBehavior", args.props.get("defaultCacheBehavior"))]
    behaviors += [
        (f"orderedCacheBehaviors[{i}]", b)
        for i, b in enumerate(_items(args.props.get("orderedCacheBehaviors")))
    ]
    for where, behavior in behaviors:
        policy = _get(behavior, "viewerProtocolPolicy")
        if policy not in HTTPS_VIEWER_POLICIES:
            yield f"{where}.viewerProtocolPolicy is {policy!r}; viewers could use plain HTTP."


# --- the network -------------------------------------------------------------------------------------


# The cell's load balancer component (cells/infra/components/load_balancer.py): the only place a security group
# may admit the whole internet.
LB_COMPONENT_TYPE = "myark:network:LoadBalancer"

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

WORLD_OPEN_PORTS = frozenset({80, 443})


@dataclass(frozen=True)
class _Ingress:
    cidrs: tuple[str, ...]
    protocol: str
    from_port: int | None
    to_port: int | None


def _ingress_rules(args: Any) -> list[_Ingress]:
    p = args.props
    if args.resource_type in SECURITY_GROUPS:
        return [
            _Ingress(
                tuple(_items(r.get("cidrBlocks")) + _items(r.get("ipv6CidrBlocks"))),
                str(r.get("protocol")),
                _int(r.get("fromPort")),
                _int(r.get("toPort")),
            )
            for r in _maps(p.get("ingress"))
        ]
    if args.resource_type == SG_INGRESS_RULE:
        cidrs = tuple(c for c in (p.get("cidrIpv4"), p.get("cidrIpv6")) if c)
        return [_Ingress(cidrs, str(p.get("ipProtocol")), _int(p.get("fromPort")), _int(p.get("toPort")))]
    if args.resource_type == SG_RULE and p.get("type") == "ingress":
        cidrs = tuple(_items(p.get("cidrBlocks")) + _items(p.get("ipv6CidrBlocks")))
        return [_Ingress(cidrs, str(p.get("protocol")), _int(p.get("fromPort")), _int(p.get("toPort")))]
    return []


def _urn_ancestor_types(urn: str) -> list[str]:
    parts = urn.split("::")
    return parts[2].split("$")[:-1] if len(parts) > 3 else []


@resource_policy(
    "security-group-world-ingress",
    "Only the load balancer admits the internet (0.0.0.0/0, ::/0), and only on ports 80 and 443.",
    MANDATORY,
    remediation="admit the edge's ranges or another security group instead (LoadBalancer.allow_to); reach "
    "instances with SSM Session Manager, never SSH/RDP from the internet.",
)
def WORLD_INGRESS(args: Any) -> Iterator[str]:
    for rule in _ingress_rules(args):
        world = sorted(set(rule.cidrs) & WORLD_CIDRS)
        if not world:
            continue
        all_ports = rule.protocol in ("-1", "all") or rule.from_port is None
        if all_ports or rule.from_port != rule.to_port or rule.from_port not in WORLD_OPEN_PORTS:
            ports = (
                "all ports"
                if all_ports
                else (
                    f"port {rule.from_port}"
                    if rule.from_port == rule.to_port
                    else f"ports {rule.from_port}-{rule.to_port}"
                )
            )
            yield f"ingress from {', '.join(world)} on {ports}; the internet may reach only ports 80 and 443."
        elif LB_COMPONENT_TYPE not in _urn_ancestor_types(args.urn):
            yield (
                f"ingress from {', '.join(world)} on port {rule.from_port} outside a load balancer "
                f"({LB_COMPONENT_TYPE}); only the load balancer faces the internet."
            )
