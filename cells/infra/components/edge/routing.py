"""EdgeRouting (global) and CellEdge (each cell): one component each, the backend chosen by config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.config.edge import EdgeSpec
from cells.infra.components.control_plane import TokenSettings
from cells.infra.components.edge.dns import EdgeDns


@dataclass(frozen=True)
class EdgeRoutingArgs:
    edge: EdgeSpec
    domain: str
    api_token: pulumi.Input[str] | None
    identity: TokenSettings | None = None
    """The user pool the Worker verifies tokens against (Cloudflare)."""


class EdgeRouting(pulumi.ComponentResource):
    """Global: the hosted zone (Route53) or the Worker, its KV directory and route (Cloudflare)."""

    def __init__(self, name: str, args: EdgeRoutingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:edge:EdgeRouting", name, None, opts)
        if args.edge.provider == "route53":
            from cells.infra.components.edge.route53 import Route53Edge

            backend: Any = Route53Edge(name, args.domain, opts=pulumi.ResourceOptions(parent=self))
        else:
            from cells.infra.components.edge import cloudflare

            assert (
                args.api_token is not None
                and args.edge.cloudflare_account_id
                and args.edge.cloudflare_zone_id
                and args.identity is not None
            )
            provider = cloudflare.provider(args.api_token)
            backend = cloudflare.CloudflareEdge(
                name,
                cloudflare.CloudflareEdgeArgs(
                    domain=args.domain,
                    account_id=args.edge.cloudflare_account_id,
                    zone_id=args.edge.cloudflare_zone_id,
                    identity=args.identity,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers=[provider]),
            )
        self.dns: EdgeDns = backend.dns
        self.outputs: dict[str, Any] = dict(backend.outputs)
        self.register_outputs(self.outputs)


@dataclass(frozen=True)
class CellEdgeArgs:
    cell: str
    zone: str
    domain: str
    edge: EdgeSpec
    api_token: pulumi.Input[str] | None
    global_outputs: pulumi.StackReference
    role_in_zone: str
    default_for_zone: bool
    health_check_path: str


class CellEdge(pulumi.ComponentResource):
    """A cell's registration with the edge. Created before the cell (its certificates need the
    edge's DNS), completed by `register` once the load balancer and CDN exist."""

    def __init__(self, name: str, args: CellEdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:edge:CellEdge", name, None, opts)
        self.args = args
        if args.edge.provider == "route53":
            from cells.infra.components.edge.route53 import Route53Dns

            zone_id = args.global_outputs.require_output("route53ZoneId")
            self.dns: Any = Route53Dns(self, zone_id)
        else:
            from cells.infra.components.edge import cloudflare

            assert args.api_token is not None and args.edge.cloudflare_zone_id
            self._provider = cloudflare.provider(args.api_token)
            self.dns = cloudflare.CloudflareDns(self, args.edge.cloudflare_zone_id, self._provider)

    def certify(
        self,
        name: str,
        cert: aws.acm.Certificate,
        hosts: Sequence[str],
        region: str | None = None,
        shared: Sequence[str] = (),
    ) -> pulumi.Output[str]:
        """The certificate's ARN once ACM has issued it. The cell owns the validation records of its
        own `hosts`; `shared` names (api.<domain>) are validated by the global stack's record."""
        return self.dns.validate(name, cert, hosts, region, shared).certificate_arn

    def register(
        self,
        lb_dns_name: pulumi.Input[str],
        lb_zone_id: pulumi.Input[str],
        cdn_domain_name: pulumi.Input[str],
        cdn_zone_id: pulumi.Input[str],
        origin_gate: pulumi.Resource | None = None,
        origin_secret: pulumi.Input[str] | None = None,
    ) -> None:
        """`origin_secret` (Cloudflare): what the router sends the cell, once `origin_gate` (the load
        balancer rule accepting it) exists."""
        a = self.args
        name = self._name
        if a.edge.provider == "route53":
            from cells.infra.components.edge import route53

            health = route53.register_cell(
                name,
                self.dns,
                route53.Route53Registration(
                    cell=a.cell,
                    zone=a.zone,
                    domain=a.domain,
                    role_in_zone=a.role_in_zone,
                    health_check_path=a.health_check_path,
                    lb_dns_name=lb_dns_name,
                    lb_zone_id=lb_zone_id,
                    cdn_domain_name=cdn_domain_name,
                    cdn_zone_id=cdn_zone_id,
                ),
            )
            self.register_outputs({"healthCheckId": health.id})
        else:
            from cells.infra.components.edge import cloudflare

            assert a.edge.cloudflare_account_id
            cloudflare.register_cell(
                name,
                self.dns,
                cloudflare.CloudflareRegistration(
                    cell=a.cell,
                    zone=a.zone,
                    domain=a.domain,
                    account_id=a.edge.cloudflare_account_id,
                    kv_namespace_id=a.global_outputs.require_output("kvNamespaceId"),
                    default_for_zone=a.default_for_zone,
                    lb_dns_name=lb_dns_name,
                    cdn_domain_name=cdn_domain_name,
                    origin_secret=origin_secret,
                    origin_gate=origin_gate,
                ),
            )
            self.register_outputs({})
