"""The Pulumi program: what `pulumi up` runs for any stack, and what the offline plan records.

It decides what to build from the stack's config (`myark:kind`), never from the stack's name.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from cells.config import NAMESPACE, PROJECT_ROOT, StackSettings, from_runtime
from cells.fleet import Fleet, load_fleet
from cells.naming import control_plane_host, stack_tags
from components.guardrails import GuardrailsArgs, ResidencyGuardrails
from components.tagging import register_tags

# CloudFront's hosted zone id: the alias target of every CloudFront name (Cognito's domain included).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


def main(root: Path = PROJECT_ROOT) -> None:
    settings = from_runtime()  # the stack's own config first: its errors name its file
    fleet = load_fleet(root, focus=settings.stack)
    if settings.config.kind == "cell":
        build_cell_stack(settings, fleet)
    else:
        build_global_stack(settings, fleet)


def _api_token(settings: StackSettings) -> pulumi.Output[str] | None:
    if settings.config.edge.provider != "cloudflare":
        return None
    return pulumi.Config(NAMESPACE).require_secret("cloudflareApiToken")


def role_in_zone(fleet: Fleet, cell: str) -> str:
    """primary: the zone's default cell; secondary: its failover (first other cell by name)."""
    spec = fleet.stack_of_cell(cell).cell
    if spec.default_for_zone:
        return "primary"
    others = sorted(s.cell.name for s in fleet.cells_in_zone(spec.zone) if not s.cell.default_for_zone)
    return "secondary" if others and others[0] == cell else "member"


def build_cell_stack(settings: StackSettings, fleet: Fleet) -> None:
    from components.cell import Cell, CellArgs
    from components.edge.routing import CellEdge, CellEdgeArgs

    spec = settings.cell
    config = settings.config
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
        ),
        opts=pulumi.ResourceOptions(providers=[provider, google]),
    )
    edge.register(
        cell.load_balancer.alb.dns_name,
        cell.load_balancer.alb.zone_id,
        cell.frontend.distribution.domain_name,
        cell.frontend.distribution.hosted_zone_id,
    )
    guardrails = ResidencyGuardrails(
        f"{spec.name}-residency",
        GuardrailsArgs(zone=spec.zone, gcp_project=spec.gcp.project, scp_target=config.aws_scp_target),
        opts=pulumi.ResourceOptions(providers=[provider, google]),
    )
    for key, value in {**cell.outputs, "serviceControlPolicy": guardrails.scp}.items():
        pulumi.export(key, value)


def build_global_stack(settings: StackSettings, fleet: Fleet) -> None:
    from components.control_plane import ControlPlane, ControlPlaneArgs
    from components.edge.routing import EdgeRouting, EdgeRoutingArgs

    config = settings.config
    spec = config.global_spec
    register_tags(stack_tags("global", spec.region, "global", config.environment))
    provider = aws.Provider("aws", region=spec.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    plane = ControlPlane(
        "myark",
        ControlPlaneArgs(
            region=spec.region, domain=config.domain, account_id=account_id, placement=spec.placement
        ),
        opts=opts,
    )
    edge = EdgeRouting(
        "myark-edge",
        EdgeRoutingArgs(edge=config.edge, domain=config.domain, api_token=_api_token(settings)),
        opts=opts,
    )
    auth_cert = edge.dns.validate("myark-auth-cert", plane.auth_certificate, 1).certificate_arn
    auth = plane.serve_auth(auth_cert)
    edge.dns.point(
        "myark-auth-record",
        control_plane_host(config.domain),
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
    from cells.observability import FLEET_DASHBOARD_NAME
    from components.alarms import fleet_dashboard_body

    cells = sorted((s.cell.name, s.cell.region) for s in fleet.cells)
    return aws.cloudwatch.Dashboard(
        "myark-fleet-dashboard",
        dashboard_name=FLEET_DASHBOARD_NAME,
        dashboard_body=account_id.apply(lambda account: fleet_dashboard_body(cells, account)),
        opts=opts,
    )
