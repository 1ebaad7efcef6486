"""Readable views of a recorded plan: the resource tree and the counts."""

from __future__ import annotations

from collections import defaultdict

from cells.offline.plan import Plan, PlannedResource


def _label(r: PlannedResource) -> str:
    flags = []
    if r.protect:
        flags.append("protect")
    if r.retain_on_delete:
        flags.append("retain")
    where = r.region or ("global" if r.custom else "")
    extra = f" [{', '.join(flags)}]" if flags else ""
    return f"{r.type}  {r.name}" + (f"  @{where}" if where else "") + extra


def render_tree(plan: Plan) -> str:
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent].append(r)
    lines = [f"{plan.project}/{plan.stack}"]

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(r)}")
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)


def _table(title: str, counts: dict) -> list[str]:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    width = max((len(str(k)) for k, _ in rows), default=0)
    return [title] + [f"  {str(k).ljust(width)}  {v:>4}" for k, v in rows]


def render_summary(plan: Plan) -> str:
    total = sum(1 for _ in plan.cloud_resources())
    lines = [f"{plan.stack}: {total} cloud resources, {len(plan.resources)} registered in all"]
    lines += _table("by cloud:", plan.counts(lambda r: r.cloud))
    lines += _table("by region:", plan.counts(lambda r: r.region or "global"))
    lines += _table("by type:", plan.counts(lambda r: r.type))
    for v in plan.violations:
        lines.append(f"{v['level'].upper()} {v['policy']}: {v['urn']}: {v['message']}")
    if plan.violations:
        lines.append(f"{len(plan.violations)} policy violations")
    else:
        lines.append("0 policy violations")
    return "\n".join(lines)
