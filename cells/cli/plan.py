"""`python -m cells plan|state|rules`: a stack's offline plan, the committed stateful URNs, the
providers' rules over the fleet."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cells.cli import EXIT_FAILED, EXIT_OK
from cells.core.errors import write_output


def register(sub: Any) -> None:
    plan = sub.add_parser(
        "plan",
        help="run a stack's program offline under Pulumi's mock engine and show what it builds",
        description="Run the real program of STACK under Pulumi's mock engine (no cloud, no credentials) "
        "and print the resource tree with counts by cloud, region and type.",
        epilog="Exit codes: 0 planned; 1 a mandatory policy violation or an error; 2 invalid config or "
        "unknown stack.",
    )
    plan.add_argument("stack", help="stack name: the X of a Pulumi.X.yaml beside Pulumi.yaml")
    plan.add_argument("--json", metavar="PATH", help="also write the recorded plan as JSON to PATH")
    plan.add_argument("--diagram", metavar="PATH", help="also write a Mermaid diagram of the stack to PATH")
    plan.add_argument("--quiet", action="store_true", help="print only the summary counts")
    plan.add_argument(
        "--root",
        metavar="DIR",
        type=Path,
        help="the project directory holding the stack files (default: this one)",
    )
    state = sub.add_parser(
        "state",
        help="check or accept the committed URNs of stateful resources",
        description="check: plan every stack and compare its stateful URNs with state/stateful-urns.json. "
        "accept: record the current URNs (after a deliberate rename with alias, or an intended removal).",
        epilog="Exit codes: 0 matches (or accepted); 1 a stateful URN changed; 2 bad input.",
    )
    state.add_argument("action", choices=["check", "accept"])
    rules = sub.add_parser(
        "rules",
        help="check every stack's offline plan against the providers' own rules, and the fleet's",
        description="Plan every stack and check each against cells/guardrails/provider_rules/ (names after "
        "autonaming, locations, pairings), then the fleet rules over all plans (one owner per DNS "
        "record, SCP name, failover role, GCP id).",
        epilog="Exit codes: 0 no violation; 1 violations; 2 bad input.",
    )
    rules.add_argument("--doc", metavar="PATH", help="write the rules table (Markdown) to PATH and exit")


def cmd_state(args: argparse.Namespace) -> int:
    from cells.core.config.stack_files import list_stacks
    from cells.offline.plan import record_plan
    from cells.offline.state_safety import accept, compare, read_committed

    plans = [record_plan(stack) for stack in list_stacks()]
    if args.action == "accept":
        accept(plans)
        print(f"recorded the stateful URNs of {', '.join(p.stack for p in plans)}")
        return EXIT_OK
    committed = read_committed()
    drifts = [d for d in (compare(p, committed) for p in plans) if not d.ok]
    for d in drifts:
        print(d.message())
    if not drifts:
        print("stateful URNs match state/stateful-urns.json")
    return EXIT_FAILED if drifts else EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from cells.core.config.stack_files import list_stacks
    from cells.guardrails.provider_rules.registry import RULES, check_fleet_plans, markdown_table
    from cells.offline.plan import record_plan

    if args.doc:
        write_output(args.doc, markdown_table(), "--doc")
        print(f"wrote {args.doc}")
        return EXIT_OK
    plans = [record_plan(stack) for stack in list_stacks()]
    found = check_fleet_plans(plans)
    for v in found:
        print(v.message())
    print(f"{len(found)} provider-rule violations ({len(RULES)} rules, {len(plans)} stacks)")
    return EXIT_FAILED if found else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from cells.offline.plan import record_plan
    from cells.offline.view import render_summary, render_tree

    plan = record_plan(args.stack, root=args.root) if args.root else record_plan(args.stack)
    from cells.guardrails.policies.plan_check import check_plan

    if args.root:
        from cells.core.config.stack_files import read_stack_file

        plan.violations = check_plan(plan, stack_config=read_stack_file(args.stack, args.root).values)
    else:
        plan.violations = check_plan(plan)
    mandatory = sum(1 for v in plan.violations if v["level"] == "mandatory")
    from cells.guardrails.provider_rules.registry import check_stack

    broken = check_stack(plan)
    if not args.quiet:
        print(render_tree(plan))
    for v in broken:
        print(v.message(), file=sys.stderr)
    print(render_summary(plan))
    print(f"{len(broken)} provider-rule violations")
    if args.json:
        write_output(args.json, json.dumps(plan.to_json(by_urn=True), indent=2, sort_keys=False) + "\n")
        print(f"wrote {args.json}")
    if args.diagram:
        from cells.offline.diagram import mermaid

        write_output(args.diagram, mermaid(plan) + "\n", "--diagram")
        print(f"wrote {args.diagram}")
    return EXIT_FAILED if mandatory or broken else EXIT_OK


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "plan": cmd_plan,
    "state": cmd_state,
    "rules": cmd_rules,
}
