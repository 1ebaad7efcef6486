"""`python -m cells waves`: the deployment waves that follow from the fleet config."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict

from cells.core.errors import UsageError
from cells.core.fleet import load_fleet
from cells.core.waves import waves


def register(sub) -> None:
    p = sub.add_parser(
        "waves",
        help="print the deployment waves (global, pilot cells, the rest) that follow from the fleet config",
        description="The waves CI deploys in, each a GitHub environment with bake time; a failed wave stops "
        "the next. --github-output writes them for a workflow's matrix.",
        epilog="Exit codes: 0 printed; 2 invalid fleet config or no GITHUB_OUTPUT for --github-output.",
    )
    p.add_argument("--json", action="store_true", help="print the waves as JSON")
    p.add_argument(
        "--github-output",
        action="store_true",
        help="append waves, stacks and one list per wave to $GITHUB_OUTPUT",
    )


def run(args: argparse.Namespace) -> int:
    found = waves(load_fleet())
    doc = [asdict(w) for w in found]
    if args.github_output:
        target = os.environ.get("GITHUB_OUTPUT")
        if not target:
            raise UsageError("waves --github-output: GITHUB_OUTPUT is not set (it is, inside GitHub Actions)")
        lines = [f"waves={json.dumps(doc)}", f"all={json.dumps([s for w in found for s in w.stacks])}"]
        lines += [f"{w.name}={json.dumps(w.stacks)}" for w in found]
        lines += [f"{w.name}_bake_minutes={w.bake_minutes}" for w in found]
        with open(target, "a") as out:
            out.write("\n".join(lines) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for i, w in enumerate(found, 1):
            print(f"wave {i} {w.name:<7} bake {w.bake_minutes:>3} min  {', '.join(w.stacks)}")
    return 0
