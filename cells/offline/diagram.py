"""A Mermaid picture of a recorded plan: the components, the clouds and regions they build in,
and how a request flows (edge -> load balancer -> API -> stores)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from cells.offline.plan import Plan, PlannedResource

# Request flow between component types, where both are in the plan.
FLOWS = (
    ("myark:edge:EdgeRouting", "myark:global:ControlPlane", "/auth/*"),
    ("myark:edge:CellEdge", "myark:network:LoadBalancer", "home cell"),
    ("myark:network:LoadBalancer", "myark:compute:ApiService", "HTTPS → tasks"),
    ("myark:compute:ApiService", "myark:storage:DocumentStore", "documents"),
    ("myark:compute:ApiService", "myark:security:Federation", "keyless GCP access"),
    ("myark:security:Federation", "myark:data:DataStores", "Firestore / BigQuery"),
    ("myark:edge:CellEdge", "myark:web:Frontend", "app"),
)


def _id(urn: str) -> str:
    return "n" + re.sub(r"[^A-Za-z0-9]", "_", urn.split("::")[-2].split("$")[-1] + "_" + urn.split("::")[-1])


def _where(resources: list[PlannedResource]) -> str:
    places = Counter(f"{r.cloud} {r.region or 'global'}" for r in resources)
    return ", ".join(f"{n} {p}" for p, n in places.most_common(3))


def mermaid(plan: Plan) -> str:
    components = [r for r in plan.resources if not r.custom]
    owned: dict[str, list[PlannedResource]] = defaultdict(list)
    by_urn = {r.urn: r for r in plan.resources}
    for r in plan.cloud_resources():
        parent = r.parent
        while parent and by_urn[parent].parent and by_urn[parent].type == "myark:storage:SecureBucket":
            parent = by_urn[parent].parent
        if parent:
            owned[parent].append(r)
    lines = ["flowchart LR", "  users([users]) --> edge{{edge}}"]
    top = [c for c in components if c.parent is None]
    for c in top:
        lines.append(f'  subgraph {_id(c.urn)}_g["{c.type.split(":")[-1]} {c.name}"]')
        for child in [x for x in components if x.parent == c.urn and x.type != "myark:storage:SecureBucket"]:
            res = owned.get(child.urn, []) + [
                r for k in components if k.parent == child.urn for r in owned.get(k.urn, [])
            ]
            label = f"{child.type.split(':')[-1]}<br/>{len(res)} resources: {_where(res)}"
            lines.append(f'    {_id(child.urn)}["{label}"]')
        if c.urn in owned:
            lines.append(
                f'    {_id(c.urn)}["{c.type.split(":")[-1]}<br/>{len(owned[c.urn])} resources: '
                f'{_where(owned[c.urn])}"]'
            )
        lines.append("  end")
    drawn = {c.urn for c in components if c.parent is not None or c.urn in owned}

    def node(c: PlannedResource) -> str:
        return _id(c.urn) if c.urn in drawn else f"{_id(c.urn)}_g"

    types = {c.type: c for c in components}
    entry = types.get("myark:edge:CellEdge") or types.get("myark:edge:EdgeRouting")
    if entry:
        lines.append(f"  edge --> {node(entry)}")
    for src, dst, label in FLOWS:
        if src in types and dst in types:
            lines.append(f'  {node(types[src])} -->|"{label}"| {node(types[dst])}')
    return "\n".join(lines)
