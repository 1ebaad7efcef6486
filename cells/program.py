"""The Pulumi program: what `pulumi up` runs for any stack, and what the offline plan records.

It decides what to build from the stack's config (`myark:kind`), never from the stack's name.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from cells.config import PROJECT_ROOT, StackSettings, from_runtime
from cells.fleet import Fleet, load_fleet
from cells.naming import stack_tags
from components.tagging import register_tags


def main(root: Path = PROJECT_ROOT) -> None:
    settings = from_runtime()  # the stack's own config first: its errors name its file
    fleet = load_fleet(root, focus=settings.stack)
    if settings.config.kind == "cell":
        build_cell_stack(settings, fleet)
    else:
        build_global_stack(settings, fleet)


def build_cell_stack(settings: StackSettings, fleet: Fleet) -> None:
    from components.cell import Cell, CellArgs

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
    cell = Cell(
        spec.name,
        CellArgs(spec=spec, domain=config.domain, environment=config.environment,
                 edge_provider=config.edge.provider, account_id=account_id, gcp_project_number=project_number),
        opts=pulumi.ResourceOptions(providers=[provider, google]),
    )
    for key, value in cell.outputs.items():
        pulumi.export(key, value)


def build_global_stack(settings: StackSettings, fleet: Fleet) -> None:
    config = settings.config
    spec = config.global_spec
    register_tags(stack_tags("global", spec.region, "global", config.environment))
    aws.Provider("aws", region=spec.region)
    pulumi.export("domain", config.domain)
    pulumi.export("cells", sorted(s.cell.name for s in fleet.cells))
