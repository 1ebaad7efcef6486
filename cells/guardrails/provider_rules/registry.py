"""The registry of provider rules: a rule's metadata and check (`@rule`), what a broken rule reports
(`Violation`), running them over one plan or the fleet's, and the generated docs table.

The theme modules register their rules on import; `cells/guardrails/provider_rules/__init__.py`
imports them all, in the order of `docs/provider-rules.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cells.guardrails.provider_rules.name_limits import AWS_NAMES, GCP_NAMES
from cells.offline.plan import Plan, PlannedResource


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    value: str
    allowed: str
    origin: str
    stack: str = ""

    def message(self) -> str:
        where = f"{self.stack}: " if self.stack else ""
        return (
            f"{where}[{self.rule}] {self.urn}\n    value: {self.value}\n    allowed: {self.allowed}\n"
            f"    from: {self.origin}"
        )


@dataclass(frozen=True)
class Rule:
    id: str
    service: str
    summary: str
    source: str
    check: Callable[..., Iterable[Violation]]
    fleet: bool = False


RULES: list[Rule] = []


def rule(id: str, service: str, summary: str, source: str, fleet: bool = False):
    def register(fn: Callable[..., Iterable[Violation]]) -> Callable[..., Iterable[Violation]]:
        RULES.append(Rule(id, service, summary, source, fn, fleet))
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# Helpers the rules share: where a value came from, and reading nested inputs.


def origin_of(r: PlannedResource, key: str, value: str, plan: Plan | None = None) -> str:
    """Where a value came from: the stack's config, or a name the program derived."""
    cell = cell_name(plan) if plan else None
    if cell and cell in value:
        return f"input {key} of {r.name}, derived from myark:cell.name {cell!r} (cells/core/naming.py)"
    return f"input {key} of {r.name}, set by the program"


def cell_name(plan: Plan) -> str | None:
    return plan.outputs.get("cell") if isinstance(plan.outputs.get("cell"), str) else None


def get_path(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return None
            data = data[key]
        elif not isinstance(data, dict) or key not in data:
            return None
        else:
            data = data[key]
    return data


def check_stack(plan: Plan) -> list[Violation]:
    found: list[Violation] = []
    for r in RULES:
        if not r.fleet:
            found.extend(
                Violation(v.rule, v.urn, v.value, v.allowed, v.origin, plan.stack) for v in r.check(plan)
            )
    return found


def check_fleet_plans(plans: Sequence[Plan]) -> list[Violation]:
    found: list[Violation] = []
    for plan in plans:
        found.extend(check_stack(plan))
    for r in RULES:
        if r.fleet:
            found.extend(r.check(plans))
    return found


def markdown_table() -> str:
    lines = [
        "# Provider rules",
        "",
        "Generated from `cells/guardrails/provider_rules/` by `python -m cells docs`; "
        "a test keeps it current.",
        "What each service used here documents about the values it accepts, checked over the offline plan "
        "(`./dev plan STACK`: the stack's rules; `./dev rules`: every stack, and the fleet rules over all).",
        "",
        "| Rule | Scope | Service | What the service allows | Source |",
        "|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f"| `{r.id}` | {'fleet' if r.fleet else 'stack'} | {r.service} | {r.summary} | <{r.source}> |"
        )
    lines += ["", "## Name limits (after autonaming)", "", "| Resource type | Field | Allowed | Source |"]
    lines.append("|---|---|---|---|")
    for type_, spec in {**AWS_NAMES, **GCP_NAMES}.items():
        auto = " (autonamed)" if spec.autonamed else ""
        lines.append(f"| `{type_}` | `{spec.field}`{auto} | {spec.why} | <{spec.source}> |")
    return "\n".join(lines) + "\n"
