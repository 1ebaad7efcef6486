"""Route53 backend: the hosted zone (global) and each cell's records, health check and failover.

Route53 answers per DNS query, not per user: it cannot keep a user on their home cell. Signed-in
clients therefore use their cell's own host (`<cell>.api.<domain>`, learned at login), and
`api.<domain>` only places anonymous traffic by geolocation on the default cell of the client's
zone, failing over to a second cell of the SAME zone, never to another zone. Weighted records are
never used: they would split one user's queries between cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.naming import TAG_ROLE, api_host, cell_api_host, cell_app_host, zone_api_host
from cells.core.regions import CLOUDFRONT_ZONE_ID, ZONES, default_zone
from cells.infra.components.edge.dns import APEX_PLACEHOLDER_IPV4, await_issue, validation_option
from cells.infra.components.edge.dns_security import ZoneSecurity
from cells.infra.components.protection import kept


class Route53Dns:
    """DNS operations inside one hosted zone, for the component that owns the records."""

    def __init__(self, owner: pulumi.Resource, zone_id: pulumi.Input[str]):
        self.owner = owner
        self.zone_id = zone_id

    def validate(
        self,
        name: str,
        cert: aws.acm.Certificate,
        hosts: Sequence[str],
        region: str | None = None,
        shared: Sequence[str] = (),
    ) -> aws.acm.CertificateValidation:
        """Records for the certificate's own `hosts`; `shared` names' records belong to another stack
        (ACM gives every certificate of a name in one account the same record)."""
        child = pulumi.ResourceOptions(parent=self.owner)
        fqdns: list[pulumi.Input[str]] = []
        for i, host in enumerate(hosts):
            option = validation_option(cert, host)
            record = aws.route53.Record(
                f"{name}-validation-{i}",
                zone_id=self.zone_id,
                name=option.apply(lambda o: o.resource_record_name),
                type=option.apply(lambda o: o.resource_record_type),
                records=[option.apply(lambda o: o.resource_record_value)],
                ttl=300,
                allow_overwrite=True,
                opts=child,
            )
            fqdns.append(record.fqdn)
        return await_issue(self.owner, name, cert, fqdns, shared, region)

    def point(
        self,
        name: str,
        host: str,
        target: pulumi.Input[str],
        target_zone_id: pulumi.Input[str],
    ) -> aws.route53.Record:
        # Route53 refuses EvaluateTargetHealth on a CloudFront target (CloudFront has no health).
        evaluate = pulumi.Output.from_input(target_zone_id).apply(lambda z: z != CLOUDFRONT_ZONE_ID)
        return aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=host,
            type="A",
            aliases=[{"name": target, "zone_id": target_zone_id, "evaluate_target_health": evaluate}],
            opts=pulumi.ResourceOptions(parent=self.owner),
        )

    def apex(self, name: str, domain: str) -> aws.route53.Record:
        return aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=domain,
            type="A",
            ttl=300,
            records=[APEX_PLACEHOLDER_IPV4],
            opts=pulumi.ResourceOptions(parent=self.owner),
        )


class Route53Edge(pulumi.ComponentResource):
    """Global: the public hosted zone of the domain. Cells add their own records to it."""

    def __init__(self, name: str, domain: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:edge:Route53Edge", name, None, opts)
        self.zone = aws.route53.Zone(
            f"{name}-zone",
            name=domain,
            comment="MyARK public zone: cells register their own records",
            opts=kept(self),
        )
        self.dns = Route53Dns(self, self.zone.zone_id)
        ZoneSecurity(name, self.zone, opts=pulumi.ResourceOptions(parent=self))
        self.outputs = {
            "edgeProvider": "route53",
            "route53ZoneId": self.zone.zone_id,
            "nameServers": self.zone.name_servers,
        }
        self.register_outputs(self.outputs)


@dataclass(frozen=True)
class Route53Registration:
    cell: str
    zone: str
    domain: str
    role_in_zone: str  # "primary" (the zone's default), "secondary" (its failover), or "member"
    health_check_path: str
    lb_dns_name: pulumi.Input[str]
    lb_zone_id: pulumi.Input[str]
    cdn_domain_name: pulumi.Input[str]
    cdn_zone_id: pulumi.Input[str]


def register_cell(name: str, dns: Route53Dns, args: Route53Registration) -> aws.route53.HealthCheck:
    """A cell's own records: its hosts, its health check, its place in its zone's failover."""
    child = pulumi.ResourceOptions(parent=dns.owner)
    host = cell_api_host(args.cell, args.domain)
    dns.point(f"{name}-api-record", host, args.lb_dns_name, args.lb_zone_id)
    dns.point(
        f"{name}-app-record", cell_app_host(args.cell, args.domain), args.cdn_domain_name, args.cdn_zone_id
    )
    health = aws.route53.HealthCheck(
        f"{name}-health",
        type="HTTPS",
        fqdn=host,
        port=443,
        resource_path=args.health_check_path,
        request_interval=30,
        failure_threshold=3,
        enable_sni=True,
        tags={TAG_ROLE: "cell-health"},
        # `cells drain/down/activate` invert the check to take the cell out of its zone's default:
        # a later `pulumi up` must not undo that.
        opts=pulumi.ResourceOptions(parent=dns.owner, ignore_changes=["invertHealthcheck"]),
    )
    zone_host = zone_api_host(args.zone, args.domain)
    if args.role_in_zone in ("primary", "secondary"):
        aws.route53.Record(
            f"{name}-zone-failover",
            zone_id=dns.zone_id,
            name=zone_host,
            type="A",
            set_identifier=args.cell,
            failover_routing_policies=[{"type": args.role_in_zone.upper()}],
            health_check_id=health.id,
            aliases=[{"name": args.lb_dns_name, "zone_id": args.lb_zone_id, "evaluate_target_health": True}],
            opts=child,
        )
    if args.role_in_zone == "primary":
        # The zone's default cell publishes where the zone's anonymous users go.
        locations: list[Any] = [{"country": c} for c in ZONES[args.zone].countries]
        if args.zone == default_zone():
            locations.append({"country": "*"})
        for loc in locations:
            code = loc["country"].replace("*", "default").lower()
            aws.route53.Record(
                f"{name}-geo-{code}",
                zone_id=dns.zone_id,
                name=api_host(args.domain),
                type="A",
                set_identifier=f"{args.zone}-{code}",
                geolocation_routing_policies=[loc],
                # Never evaluate the zone's health here: Route53 would leave an unhealthy branch for
                # the default (`*`) record, another zone's cell. Failover stays inside <zone>.api.
                aliases=[{"name": zone_host, "zone_id": dns.zone_id, "evaluate_target_health": False}],
                opts=child,
            )
    return health
