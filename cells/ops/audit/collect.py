"""The audit's shell: gather the cell's `Inventory` from AWS (and GCP), then judge it."""

from __future__ import annotations

from collections.abc import Sequence

from cells.ops.audit.copies import collect_copies
from cells.ops.audit.findings import audit
from cells.ops.audit.gcp import GcpSearch, GcpUnavailable
from cells.ops.audit.model import AuditResult, GcpAsset, Inventory, parse_arn
from cells.ops.audit.sweep import (
    collect_backup_plans,
    collect_buckets,
    collect_table,
    discover_regions,
    is_table,
    named_resources,
    tagged_arns,
)
from cells.ops.aws import Aws


def collect(
    aws: Aws,
    cell: str,
    zone: str,
    home_region: str,
    regions: Sequence[str],
    gcp_project: str = "",
    gcp: GcpSearch | str | None = None,
) -> Inventory:
    """`gcp`: how to search the project (a callable), why it cannot be searched (a message), or None (skipped)."""
    arns = tagged_arns(aws, cell, regions)
    others = [a for a in arns if parse_arn(a).service != "s3"]
    untagged: list[str] = []
    buckets = collect_buckets(aws, cell, home_region, untagged)
    account = aws.call("sts", home_region, "get_caller_identity")["Account"]
    tagged = set(others)
    named = named_resources(aws, cell, regions, account)
    untagged += [a for a in named if a not in tagged]
    others += [a for a in named if a not in tagged]
    tables = [collect_table(aws, a) for a in others if is_table(a)]
    plans = collect_backup_plans(aws, cell, regions, others)
    listed = [p.arn for p in plans if p.arn not in others]
    copies = collect_copies(aws, others)
    assets: list[GcpAsset] = []
    problem = ""
    if isinstance(gcp, str):
        problem = gcp
    elif gcp is not None:
        try:
            assets = gcp(gcp_project)
        except GcpUnavailable as exc:
            problem = str(exc)
    return Inventory(
        cell=cell,
        zone=zone,
        regions=tuple(regions),
        arns=(*others, *listed),
        buckets=tuple(buckets),
        tables=tuple(tables),
        backup_plans=tuple(plans),
        untagged=tuple(untagged),
        copies=tuple(copies),
        gcp_project=gcp_project if gcp is not None else "",
        gcp_assets=tuple(assets),
        gcp_problem=problem,
    )


def run(
    aws: Aws,
    cell: str,
    zone: str,
    home_region: str,
    regions: Sequence[str] | None,
    gcp_project: str = "",
    gcp: GcpSearch | str | None = None,
) -> tuple[AuditResult, str | None]:
    """Audit the cell over `regions` (default: every enabled region). Returns the result and a note."""
    note = None
    if regions is None:
        regions, note = discover_regions(aws, home_region)
    return audit(collect(aws, cell, zone, home_region, regions, gcp_project, gcp)), note
