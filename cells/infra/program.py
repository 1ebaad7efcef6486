"""The Pulumi program: what `pulumi up` runs for any stack, and what the offline plan records.

It decides what to build from the stack's config (`myark:kind`), never from the stack's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from cells.core.config.base import NAMESPACE
from cells.core.config.parse import decode_value, parse_stack
from cells.core.config.stack import StackSettings
from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.errors import ConfigError
from cells.core.fleet import Fleet, load_fleet
from cells.core.naming import api_host, app_callback_url, control_plane_host, stack_tags
from cells.core.regions import CLOUDFRONT_ZONE_ID, Zone
from cells.infra.components.guardrails import GuardrailsArgs, ResidencyGuardrails
from cells.infra.components.tagging import register_tags


def main(root: Path = PROJECT_ROOT) -> None:
    import pulumi

    # The fleet first: the global stack file declares the zones a cell's config is checked against.
    # Every error names its file (the stack's own first), so a draft elsewhere is named too.
    fleet = load_fleet(root, focus=pulumi.get_stack())
    settings = from_runtime(fleet.zones, fleet.global_stack.file)
    if settings.config.kind == "cell":
        build_cell_stack(settings, fleet)
    else:
        build_global_stack(settings, fleet)


def _api_token(settings: StackSettings) -> pulumi.Output[str] | None:
    if settings.config.edge.provider != "cloudflare":
        return None
    return pulumi.Config(NAMESPACE).require_secret("cloudflareApiToken")


def _origin_secrets(settings: StackSettings) -> pulumi.Output[list[str]] | None:
    """Cloudflare cells: the values the load balancer accepts in X-MyARK-Origin-Auth, current first."""
    if settings.config.edge.provider != "cloudflare":
        return None
    if not settings.config.origin_secret:
        raise ConfigError(
            f"{settings.file}: {NAMESPACE}:originSecret: required with the cloudflare edge (only the router may "
            "reach the cell's load balancer). Set it with "
            f"`pulumi config set --secret {NAMESPACE}:originSecret $(openssl rand -hex 32) -s {settings.stack}`"
        )
    config = pulumi.Config(NAMESPACE)
    values = [config.require_secret("originSecret")]
    if settings.config.origin_secret_previous:
        values.append(config.require_secret("originSecretPrevious"))
    return pulumi.Output.all(*values).apply(list)


def role_in_zone(fleet: Fleet, cell: str) -> str:
    """primary: the zone's default cell; secondary: the cell config names its failover
    (`failoverForZone`); member: any other. Explicit, so adding a cell never moves a role."""
    spec = fleet.stack_of_cell(cell).cell
    if spec.default_for_zone:
        return "primary"
    return "secondary" if spec.failover_for_zone else "member"


def build_cell_stack(settings: StackSettings, fleet: Fleet) -> None:
    from cells.infra.components.cell import Cell, CellArgs
    from cells.infra.components.edge.routing import CellEdge, CellEdgeArgs

    spec = settings.cell
    config = settings.config
    origin_secrets = _origin_secrets(settings)  # first: a missing secret builds nothing
    register_tags(stack_tags(spec.name, spec.region, spec.zone, config.environment))
    # One AWS provider for the whole stack: pulumi-aws 7 takes a region per resource where needed.
    provider = aws.Provider("aws", region=spec.region)
    # One GCP provider, pinned to the cell's own project and its zone's region.
    google = gcp.Provider("gcp", project=spec.gcp.project, region=spec.facts.gcp_region)
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    project_number = gcp.organizations.get_project_output(
        project_id=spec.gcp.project, opts=pulumi.InvokeOutputOptions(provider=google)
    ).number
    assert config.global_stack is not None  # the config model requires it of a cell
    control = pulumi.StackReference(config.global_stack)
    edge = CellEdge(
        f"{spec.name}-edge",
        CellEdgeArgs(
            cell=spec.name,
            zone=spec.zone,
            domain=config.domain,
            edge=config.edge,
            api_token=_api_token(settings),
            global_outputs=control,
            role_in_zone=role_in_zone(fleet, spec.name),
            default_for_zone=spec.default_for_zone,
            health_check_path=spec.api.health_check_path,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    cell = Cell(
        spec.name,
        CellArgs(
            spec=spec,
            domain=config.domain,
            environment=config.environment,
            edge_provider=config.edge.provider,
            account_id=account_id,
            gcp_project_number=project_number,
            billing_bus_arn=control.require_output("billingBusArn"),
            identity_issuer=control.require_output("identityIssuer"),
            certify=edge.certify,
            origin_secrets=origin_secrets,
        ),
        opts=pulumi.ResourceOptions(providers=[provider, google]),
    )
    edge.register(
        cell.load_balancer.alb.dns_name,
        cell.load_balancer.alb.zone_id,
        cell.frontend.distribution.domain_name,
        cell.frontend.distribution.hosted_zone_id,
        origin_gate=cell.load_balancer.origin_gate,
        origin_secret=origin_secrets[0] if origin_secrets is not None else None,
    )
    guardrails = ResidencyGuardrails(
        f"{spec.name}-residency",
        GuardrailsArgs(
            zone=spec.zone,
            gcp_project=spec.gcp.project,
            # The zone's policy is one per organization: its default cell owns it, the others output it.
            scp_target=config.aws_scp_target if spec.default_for_zone else None,
        ),
        opts=pulumi.ResourceOptions(providers=[provider, google]),
    )
    for key, value in {**cell.outputs, "serviceControlPolicy": guardrails.scp}.items():
        pulumi.export(key, value)


def build_global_stack(settings: StackSettings, fleet: Fleet) -> None:
    from cells.infra.components.control_plane import ControlPlane, ControlPlaneArgs
    from cells.infra.components.edge.routing import EdgeRouting, EdgeRoutingArgs

    config = settings.config
    spec = config.global_spec
    register_tags(stack_tags("global", spec.region, "global", config.environment))
    provider = aws.Provider("aws", region=spec.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    plane = ControlPlane(
        "myark",
        ControlPlaneArgs(
            region=spec.region,
            domain=config.domain,
            account_id=account_id,
            placement=spec.placement,
            callback_urls=[
                *(app_callback_url(s.cell.name, config.domain, spec.auth.callback_path) for s in fleet.cells),
                *spec.auth.extra_callback_urls,
            ],
            logout_urls=[
                app_callback_url(s.cell.name, config.domain, spec.auth.logout_path) for s in fleet.cells
            ],
            oauth_flows=list(spec.auth.flows),
            oauth_scopes=list(spec.auth.scopes),
        ),
        opts=opts,
    )
    edge = EdgeRouting(
        "myark-edge",
        EdgeRoutingArgs(
            edge=config.edge,
            domain=config.domain,
            api_token=_api_token(settings),
            identity=plane.token_settings(),
        ),
        opts=opts,
    )
    host = control_plane_host(config.domain)
    auth_cert = edge.dns.validate("myark-auth-cert", plane.auth_certificate, (host,)).certificate_arn
    # api.<domain> is on every cell's load balancer certificate. ACM gives every certificate of a
    # name in the account the same validation record, so its one owner is this stack: a certificate
    # for the shared name, validated here; cells validate only their own names and await this one.
    shared = api_host(config.domain)
    api_cert = aws.acm.Certificate(
        "myark-api-cert",
        domain_name=shared,
        validation_method="DNS",
        options={"certificate_transparency_logging_preference": "ENABLED"},
        opts=pulumi.ResourceOptions(parent=edge),
    )
    edge.dns.validate("myark-api-cert", api_cert, (shared,))
    # Cognito creates a custom domain only once its parent domain resolves: the apex A record first.
    apex = edge.dns.apex("myark-apex-record", config.domain)
    auth = plane.serve_auth(auth_cert, depends_on=[apex])
    edge.dns.point(
        "myark-auth-record",
        host,
        auth.cloudfront_distribution,
        CLOUDFRONT_ZONE_ID,
    )
    fleet_dashboard = _fleet_dashboard(fleet, account_id, opts)
    outputs = {
        **plane.outputs,
        **edge.outputs,
        "fleetDashboard": fleet_dashboard.dashboard_name,
        "domain": config.domain,
        "cells": sorted(s.cell.name for s in fleet.cells),
    }
    for key, value in outputs.items():
        pulumi.export(key, value)


def _fleet_dashboard(
    fleet: Fleet, account_id: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.Dashboard:
    """The fleet dashboard in the global region: one row per cell (its alarms and its health canary)."""
    from cells.core.observability import FLEET_DASHBOARD_NAME
    from cells.infra.components.alarms import fleet_dashboard_body

    cells = sorted((s.cell.name, s.cell.region) for s in fleet.cells)
    return aws.cloudwatch.Dashboard(
        "myark-fleet-dashboard",
        dashboard_name=FLEET_DASHBOARD_NAME,
        dashboard_body=account_id.apply(lambda account: fleet_dashboard_body(cells, account)),
        opts=opts,
    )


def from_runtime(
    zones: Mapping[str, Zone] | None = None, global_file: str = "the global stack file"
) -> StackSettings:
    """The config the Pulumi engine handed this program (real run or offline plan)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    stack = pulumi.get_stack()
    return parse_stack(
        stack,
        {k: decode_value(v) for k, v in raw.items()},
        secret_keys,
        f"Pulumi.{stack}.yaml",
        zones,
        global_file,
    )
