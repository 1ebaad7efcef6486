"""`python -m cells scan`: checkov and parliament over the offline plans (./dev scan installs them)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails.scan.runner import EDGE_MODES, scan, scanner_python
from cells.guardrails.scan.verdict import SKIPS_FILE, SkipListError, load_skips, render


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan",
        help="checkov and parliament over the offline plans (./dev scan installs the scanners)",
        description="Translate the offline plan of each STACK (default: every stack) in each edge mode to "
        "Terraform plan JSON, run checkov on it and parliament on every IAM document, and gate the "
        f"findings against {SKIPS_FILE.relative_to(PROJECT_ROOT)}.",
        epilog="Exit codes: 0 clean; 1 an unskipped checkov failure, a parliament finding, or a skip that "
        "matches nothing (full scans only); 2 bad input.",
    )
    p.add_argument("stacks", nargs="*", metavar="STACK", help="stacks to scan (default: all)")
    p.add_argument("--edge", choices=[*EDGE_MODES, "both"], default="both", help="edge mode(s) to plan")
    p.add_argument("--keep", metavar="DIR", help="write the Terraform plan JSON files to DIR")


def run(args: Any) -> int:
    from cells.core.config.stack_files import list_stacks

    known = list_stacks()
    unknown = [s for s in args.stacks if s not in known]
    if unknown:
        print(f"scan: unknown stack {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    stacks = args.stacks or known
    edges = list(EDGE_MODES) if args.edge == "both" else [args.edge]
    try:
        load_skips()
        scanner_python()
    except (SkipListError, FileNotFoundError) as exc:
        print(f"scan: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = scan(stacks, edges, workdir)
    if set(stacks) != set(known) or len(edges) != len(EDGE_MODES):
        result.unused_skips = []  # a partial scan cannot tell a stale skip from an unscanned one
    result.seconds["total"] = time.perf_counter() - start
    print(render(result))
    return 0 if result.ok else 1
