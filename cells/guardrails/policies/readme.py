"""The policy table of `policy/README.md`, generated from the registry.

`python -m cells docs` rewrites the table between the two markers in place
and leaves the hand-written prose around it alone; a test fails when the committed README is stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pulumi_policy import Policy, StackValidationPolicy

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails.policies.pack import ALL_POLICIES

README = PROJECT_ROOT / "policy" / "README.md"
COMMAND = "python -m cells docs"
BEGIN = f"<!-- generated from cells/guardrails/policies by `{COMMAND}`: do not edit the table by hand -->"
END = "<!-- end of the generated table -->"


def _cell(text: str) -> str:
    """Text in a table cell: no row break, no column break, and `<...>` outside code shown, not parsed as HTML."""
    parts = text.replace("\n", " ").replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _config(policy: Policy) -> str:
    schema = getattr(policy, "config_schema", None)
    if schema is None:
        return ""
    return "; ".join(
        f"`{key}` ({spec.get('type', 'any')}, default {json.dumps(spec.get('default'))})"
        for key, spec in schema.properties.items()
    )


def table(policies: Sequence[Policy] = ALL_POLICIES) -> str:
    """One row per policy, in the pack's order."""
    rows = [
        "| policy | level | kind | checks | remediation | config |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for policy in policies:
        level = policy.enforcement_level.value if policy.enforcement_level else ""
        kind = "stack" if isinstance(policy, StackValidationPolicy) else "resource"
        rows.append(
            f"| `{policy.name}` | {level} | {kind} | {_cell(policy.description)} | "
            f"{_cell(policy.remediation_steps or '')} | {_config(policy)} |"
        )
    return "\n".join(rows)


def render(text: str) -> str:
    """The README `text` with a current table between its markers."""
    before, begin, rest = text.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"policy/README.md lacks the markers of the generated table: {BEGIN} ... {END}")
    return f"{before}{BEGIN}\n\n{table()}\n\n{END}{after}"
