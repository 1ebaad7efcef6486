"""The audit's report: text for people (`render`), a list of findings for machines (`to_json`)."""

from __future__ import annotations

from cells.core.naming import TAG_CELL
from cells.ops.audit.findings import zone_text
from cells.ops.audit.model import AuditResult, Inventory
from cells.ops.report import table


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def render(result: AuditResult) -> str:
    inv = result.inventory
    lines = [
        f"Residency audit of cell {inv.cell} ({zone_text(inv.zone)})",
        f"Scanned {_count(len(inv.regions), 'region')}: {_count(len(inv.arns) + len(inv.buckets), 'resource')} "
        f"of the cell, tagged {TAG_CELL}={inv.cell} or named for it ({_count(len(inv.buckets), 'S3 bucket')}, "
        f"{_count(len(inv.tables), 'DynamoDB table')}, {_count(len(inv.backup_plans), 'backup plan')}"
        f"; {len(inv.untagged)} untagged).",
    ]
    if inv.gcp_project and not inv.gcp_problem:
        lines.append(
            f"GCP project {inv.gcp_project}: {_count(len(inv.gcp_assets), 'asset')} (Cloud Asset Inventory)."
        )
    if inv.empty:
        lines.append(nothing_found(inv))
        return "\n".join(lines)
    lines += [f"Exempt: {e.arn} ({e.reason})" for e in result.exemptions]
    if result.clean:
        lines.append("Clean: no findings.")
        return "\n".join(lines)
    rows = [(f.kind, f.region or "-", f.arn, f.detail) for f in result.findings]
    lines += ["", table(("KIND", "REGION", "ARN", "DETAIL"), rows), ""]
    lines.append(f"{_count(len(result.findings), 'finding')}.")
    return "\n".join(lines)


def nothing_found(inv: Inventory) -> str:
    return (
        f"Nothing of cell {inv.cell} found in this account: no resource tagged {TAG_CELL}={inv.cell} or named "
        f"for it in {_count(len(inv.regions), 'region')}. These credentials see another account, or the cell "
        "is not deployed; this is not a clean audit."
    )


def to_json(result: AuditResult) -> list[dict[str, str]]:
    return [f.to_json() for f in result.findings]
