"""Cloudflare backend: the Worker that routes each user to their home cell, its KV directory, DNS.

The only module that imports pulumi_cloudflare (about 5 s): nothing else may import it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from cells.core.naming import api_host, cell_api_host, cell_app_host, control_plane_host
from cells.core.regions import ZONES, default_zone
from cells.infra.components.control_plane import TokenSettings
from cells.infra.components.edge.dns import APEX_PLACEHOLDER_IPV4, await_issue, validation_option
from cells.infra.components.protection import kept

WORKER_SOURCE = Path(__file__).resolve().parents[4] / "edge-worker" / "src" / "worker.js"
WORKER_NAME = "myark-edge-router"
COMPATIBILITY_DATE = "2025-09-01"
CELL_CACHE_TTL_SECONDS = 30


def provider(token: pulumi.Input[str]) -> cloudflare.Provider:
    return cloudflare.Provider("cloudflare", api_token=token)


class CloudflareDns:
    """DNS operations in the Cloudflare zone, for the component that owns the records."""

    def __init__(self, owner: pulumi.Resource, zone_id: str, provider: cloudflare.Provider | None = None):
        self.owner = owner
        self.zone_id = zone_id
        # Records inherit the owner's provider, unless the owner is not under a Cloudflare provider.
        self.opts = (
            pulumi.ResourceOptions(parent=owner, provider=provider)
            if provider
            else pulumi.ResourceOptions(parent=owner)
        )

    def validate(
        self,
        name: str,
        cert: aws.acm.Certificate,
        hosts: Sequence[str],
        region: str | None = None,
        shared: Sequence[str] = (),
    ) -> aws.acm.CertificateValidation:
        fqdns: list[pulumi.Input[str]] = []
        for i, host in enumerate(hosts):
            option = validation_option(cert, host)
            cloudflare.DnsRecord(
                f"{name}-validation-{i}",
                zone_id=self.zone_id,
                name=option.apply(lambda o: o.resource_record_name.rstrip(".")),
                type=option.apply(lambda o: o.resource_record_type),
                content=option.apply(lambda o: o.resource_record_value.rstrip(".")),
                ttl=300,
                proxied=False,  # ACM must see the record itself
                opts=self.opts,
            )
            fqdns.append(option.apply(lambda o: o.resource_record_name))
        # Shared names (api.<domain>): the global stack owns their record; only wait for it.
        return await_issue(self.owner, name, cert, fqdns, shared, region)

    def point(
        self,
        name: str,
        host: str,
        target: pulumi.Input[str],
        target_zone_id: pulumi.Input[str],
        proxied: bool = False,
    ) -> None:
        cloudflare.DnsRecord(
            name,
            zone_id=self.zone_id,
            name=host,
            type="CNAME",
            content=target,
            ttl=1,
            proxied=proxied,
            opts=self.opts,
        )

    def apex(self, name: str, domain: str) -> cloudflare.DnsRecord:
        # Proxied: answers with Cloudflare's addresses, the placeholder origin is never reached.
        return cloudflare.DnsRecord(
            name,
            zone_id=self.zone_id,
            name=domain,
            type="A",
            content=APEX_PLACEHOLDER_IPV4,
            ttl=1,
            proxied=True,
            opts=self.opts,
        )


@dataclass(frozen=True)
class CloudflareEdgeArgs:
    domain: str
    account_id: str
    zone_id: str
    identity: TokenSettings


class CloudflareEdge(pulumi.ComponentResource):
    """Global: the Worker on `api.<domain>/*`, its KV directory, and the records it needs."""

    def __init__(self, name: str, args: CloudflareEdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:edge:CloudflareEdge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dns = CloudflareDns(self, args.zone_id)
        self.directory = cloudflare.WorkersKvNamespace(
            f"{name}-directory",
            account_id=args.account_id,
            title="myark-directory",
            opts=kept(self),
        )
        country_zones = {c: z.name for z in ZONES.values() for c in z.countries if z.name != default_zone()}
        script = cloudflare.WorkersScript(
            f"{name}-router",
            account_id=args.account_id,
            script_name=WORKER_NAME,
            content=WORKER_SOURCE.read_text(),
            main_module="worker.js",
            compatibility_date=COMPATIBILITY_DATE,
            bindings=[
                {"name": "DIRECTORY", "type": "kv_namespace", "namespace_id": self.directory.id},
                {
                    "name": "CONTROL_PLANE_ORIGIN",
                    "type": "plain_text",
                    "text": f"https://{control_plane_host(args.domain)}",
                },
                {"name": "DEFAULT_ZONE", "type": "plain_text", "text": default_zone()},
                {
                    "name": "COUNTRY_ZONES",
                    "type": "plain_text",
                    "text": json.dumps(country_zones, sort_keys=True),
                },
                {"name": "CELL_CACHE_TTL_SECONDS", "type": "plain_text", "text": str(CELL_CACHE_TTL_SECONDS)},
                # The user pool the Worker verifies every bearer token against (README: identity).
                {"name": "JWKS_URL", "type": "plain_text", "text": args.identity.jwks_url},
                {"name": "TOKEN_ISSUER", "type": "plain_text", "text": args.identity.issuer},
                {"name": "TOKEN_AUDIENCE", "type": "plain_text", "text": args.identity.audience},
            ],
            observability={"enabled": True},
            opts=child,
        )
        # A proxied placeholder record: the Worker route answers, no origin behind the name.
        cloudflare.DnsRecord(
            f"{name}-api-record",
            zone_id=args.zone_id,
            name=api_host(args.domain),
            type="AAAA",
            content="100::",
            ttl=1,
            proxied=True,
            opts=child,
        )
        cloudflare.WorkersRoute(
            f"{name}-route",
            zone_id=args.zone_id,
            pattern=f"{api_host(args.domain)}/*",
            script=script.script_name,
            opts=child,
        )
        self.outputs = {
            "edgeProvider": "cloudflare",
            "kvNamespaceId": self.directory.id,
            "workerName": WORKER_NAME,
        }
        self.register_outputs(self.outputs)


@dataclass(frozen=True)
class CloudflareRegistration:
    cell: str
    zone: str
    domain: str
    account_id: str
    kv_namespace_id: pulumi.Input[str]
    default_for_zone: bool
    lb_dns_name: pulumi.Input[str]
    cdn_domain_name: pulumi.Input[str]
    origin_secret: pulumi.Input[str] | None = None
    origin_gate: pulumi.Resource | None = None


def register_cell(name: str, dns: CloudflareDns, args: CloudflareRegistration) -> None:
    """A cell's own entries: its KV record (the Worker's cell table) and its DNS names."""
    host = cell_api_host(args.cell, args.domain)
    # Proxied; the load balancer forwards only requests carrying the cell's origin secret, which
    # only the router sends (see cells/infra/components/load_balancer.py).
    dns.point(f"{name}-api-record", host, args.lb_dns_name, "", proxied=True)
    dns.point(f"{name}-app-record", cell_app_host(args.cell, args.domain), args.cdn_domain_name, "")
    entry = {
        "name": args.cell,
        "zone": args.zone,
        "origin": f"https://{host}",
        "default": args.default_for_zone,
    }
    cloudflare.WorkersKv(
        f"{name}-directory-entry",
        account_id=args.account_id,
        namespace_id=args.kv_namespace_id,
        key_name=f"cell:{args.cell}",
        value=json.dumps(entry, sort_keys=True),
        opts=dns.opts,
    )
    if args.origin_secret is not None:
        # What the router sends this cell's load balancer (a secret in Pulumi's state). Written once
        # the load balancer accepts it, so that a rotation never has the router send a value the
        # load balancer does not accept yet.
        cloudflare.WorkersKv(
            f"{name}-origin-secret",
            account_id=args.account_id,
            namespace_id=args.kv_namespace_id,
            key_name=f"secret:{args.cell}",
            value=args.origin_secret,
            opts=pulumi.ResourceOptions.merge(
                dns.opts, pulumi.ResourceOptions(depends_on=[args.origin_gate] if args.origin_gate else [])
            ),
        )
