"""The cell's Application Load Balancer: HTTPS only (HTTP redirects), WAF, access logs, protected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.edge_sources import ORIGIN_AUTH_HEADER
from cells.infra.components.protection import protected_log_group

# What a request that did not come through the fleet's router gets (Cloudflare edge).
DENY_DIRECT: Any = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "application/json",
        "message_body": '{"error":"direct_access_denied"}',
        "status_code": "403",
    },
}

# AWS managed rule groups every public entry point carries.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)

# AWSManagedRulesCommonRuleSet's SizeRestrictions_BODY blocks any body over 8 KB; documents are
# uploaded through the API, so the rule only counts and our own size rule exempts the upload path.
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_LIMIT_BYTES = 8192
UPLOAD_PATH_PREFIX = "/documents"


def _managed_group(group: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
    if group == "AWSManagedRulesCommonRuleSet":
        statement["rule_action_overrides"] = [{"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
    return {"managed_rule_group_statement": statement}


def _body_limit_outside_uploads() -> dict[str, Any]:
    """Block bodies over 8 KB except on the document upload path (what the managed rule did, scoped)."""
    return {
        "and_statement": {
            "statements": [
                {
                    "size_constraint_statement": {
                        "comparison_operator": "GT",
                        "size": BODY_LIMIT_BYTES,
                        "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                        "text_transformations": [{"priority": 0, "type": "NONE"}],
                    }
                },
                {
                    "not_statement": {
                        "statement": {
                            "byte_match_statement": {
                                "positional_constraint": "STARTS_WITH",
                                "search_string": UPLOAD_PATH_PREFIX,
                                "field_to_match": {"uri_path": {}},
                                "text_transformations": [{"priority": 0, "type": "NONE"}],
                            }
                        }
                    }
                },
            ]
        }
    }


@dataclass(frozen=True)
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    public_subnet_ids: list[pulumi.Input[str]]
    ingress_cidrs: tuple[str, ...]
    host_names: tuple[str, ...]
    ssl_policy: str
    idle_timeout_seconds: int
    access_log_bucket: pulumi.Input[str]
    target_port: int
    health_check_path: str
    log_retention_days: int
    kms_key_arn: pulumi.Input[str]
    certify: Callable[..., pulumi.Output[str]] | None = None
    """Validates the certificate through the edge's DNS and returns its ARN once issued."""
    origin_secrets: pulumi.Input[list[str]] | None = None
    """When set (Cloudflare edge), HTTPS requests reach the API only with one of these values in
    X-MyARK-Origin-Auth (current and, while rotating, previous); all else gets a 403."""
    client_ip_header: str | None = None
    """When set (Cloudflare edge), the web ACL rate-limits on the client address in this header."""
    shared_host_names: tuple[str, ...] = ()
    """Names the certificate also covers whose validation record another stack owns (api.<domain>)."""
    name: str | None = None
    """The ALB's name when the autoname would pass 32 characters (cells/core/naming.py)."""
    target_group_name: str | None = None


class LoadBalancer(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:network:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Load balancer: HTTPS and HTTP from the edge only",
            opts=child,
        )
        for port, label in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS")):
            for i, cidr in enumerate(args.ingress_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-ingress-{port}-{i}",
                    security_group_id=self.security_group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"{label} from the edge",
                    opts=child,
                )
        self.certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=args.host_names[0],
            subject_alternative_names=[*args.host_names[1:], *args.shared_host_names],
            validation_method="DNS",
            options={"certificate_transparency_logging_preference": "ENABLED"},
            opts=child,
        )
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=args.name,
            load_balancer_type="application",
            internal=False,
            subnets=args.public_subnet_ids,
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=True,
            enable_http2=True,
            idle_timeout=args.idle_timeout_seconds,
            access_logs={"bucket": args.access_log_bucket, "prefix": "alb", "enabled": True},
            opts=child,
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-api-tg",
            name=args.target_group_name,
            port=args.target_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check={
                "path": args.health_check_path,
                "matcher": "200",
                "interval": 15,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=child,
        )
        forward: Any = {"type": "forward", "target_group_arn": self.target_group.arn}
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.ssl_policy,
            certificate_arn=(
                args.certify(f"{name}-cert", self.certificate, args.host_names, shared=args.shared_host_names)
                if args.certify
                else self.certificate.arn
            ),
            default_actions=[forward if args.origin_secrets is None else DENY_DIRECT],
            routing_http_response_strict_transport_security_header_value="max-age=31536000; includeSubDomains",
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_server_enabled=False,
            opts=child,
        )
        # Only the fleet's router reaches the API: it proves itself with the cell's origin secret.
        # A listener rule, not the security group: Cloudflare's addresses are shared by every
        # Cloudflare customer's Workers. ALB matches header values case-insensitively, `*` and `?`
        # as wildcards (the config refuses both in a secret); up to 5 values per condition.
        self.origin_gate: aws.lb.ListenerRule | None = None
        if args.origin_secrets is not None:
            self.origin_gate = aws.lb.ListenerRule(
                f"{name}-origin-gate",
                listener_arn=https.arn,
                priority=1,
                conditions=[
                    {
                        "http_header": {
                            "http_header_name": ORIGIN_AUTH_HEADER,
                            "values": args.origin_secrets,
                        }
                    }
                ],
                actions=[forward],
                opts=child,
            )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {
                    "type": "redirect",
                    "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
                }
            ],
            opts=child,
        )
        rules: list[Any] = [
            {
                "name": group,
                "priority": i,
                "override_action": {"none": {}},
                "statement": _managed_group(group),
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": group,
                    "sampled_requests_enabled": True,
                },
            }
            for i, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        # Behind Cloudflare the connecting address is Cloudflare's: count the client's instead. A
        # header that is not a valid address matches (blocked); WAF skips requests without it, and
        # those never pass the origin gate.
        rate_limit: Any = (
            {
                "limit": 2000,
                "aggregate_key_type": "FORWARDED_IP",
                "forwarded_ip_config": {"header_name": args.client_ip_header, "fallback_behavior": "MATCH"},
            }
            if args.client_ip_header
            else {"limit": 2000, "aggregate_key_type": "IP"}
        )
        rules.append(
            {
                "name": "body-size-outside-uploads",
                "priority": len(rules),
                "action": {"block": {}},
                "statement": _body_limit_outside_uploads(),
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": "body-size-outside-uploads",
                    "sampled_requests_enabled": True,
                },
            }
        )
        rules.append(
            {
                "name": "rate-limit-per-ip",
                "priority": len(rules),
                "action": {"block": {}},
                "statement": {"rate_based_statement": rate_limit},
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": "rate-limit-per-ip",
                    "sampled_requests_enabled": True,
                },
            }
        )
        # VPNs, Tor and open proxies that hide a client (AnonymousIPList) are refused; hosting providers
        # (HostingProviderIPList) are only counted: tenants' own servers call the API from clouds.
        rules.append(
            {
                "name": "AWSManagedRulesAnonymousIpList",
                "priority": len(rules),
                "override_action": {"none": {}},
                "statement": {
                    "managed_rule_group_statement": {
                        "name": "AWSManagedRulesAnonymousIpList",
                        "vendor_name": "AWS",
                        "rule_action_overrides": [
                            {"name": "HostingProviderIPList", "action_to_use": {"count": {}}}
                        ],
                    }
                },
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": "AWSManagedRulesAnonymousIpList",
                    "sampled_requests_enabled": True,
                },
            }
        )
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=rules,
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": f"{name}-waf",
                "sampled_requests_enabled": True,
            },
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-waf-association", resource_arn=self.alb.arn, web_acl_arn=self.web_acl.arn, opts=child
        )
        # WAF requires its log group's name to start with aws-waf-logs-.
        waf_logs = protected_log_group(
            f"{name}-waf-logs",
            self,
            name=f"aws-waf-logs-{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[waf_logs.arn],
            opts=child,
        )
        self.register_outputs({"dns_name": self.alb.dns_name, "zone_id": self.alb.zone_id})

    def allow_to(self, target: aws.ec2.SecurityGroup, port: int) -> None:
        """Let the load balancer reach a tier on one port (and nothing else)."""
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-to-{target._name}-{port}",
            security_group_id=self.security_group.id,
            referenced_security_group_id=target.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description="Load balancer to its targets",
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{target._name}-from-{self._name}-{port}",
            security_group_id=target.id,
            referenced_security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description="From the load balancer only",
            opts=pulumi.ResourceOptions(parent=self),
        )
