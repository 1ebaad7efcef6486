"""Benchmark: the offline plan of each stack against the bare import of the SDK modules it uses.

Each measurement runs in a fresh interpreter (as `python -m cells plan` does), median of --runs.
Prints wall time and peak memory (max RSS) of both, and their ratio. Goal: plan <= 1.3 x imports.

    .venv/bin/python benchmarks/plan.py [--runs 3] [--json PATH] [--suite]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_RATIO = 1.3
SUITE_GOAL_SECONDS = 60.0


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: policy violations still planned fully
        raise SystemExit(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.read().decode()[-400:] if proc.stderr else ''}"
        )
    return wall, usage.ru_maxrss / 1024


def sdk_imports(stack: str) -> str:
    """Code that imports every SDK class the stack's plan process uses (the SDKs load submodules
    lazily, so touching each class is what makes the import real). A cell's plan also runs the
    global stack's program, offline, to feed its StackReference: those classes count too."""
    from cells.core.config.stack_files import read_stack_file
    from cells.offline.plan import record_plan

    plans = [record_plan(stack)]
    ref = read_stack_file(stack).values.get("myark:globalStack")
    if isinstance(ref, str):
        plans.append(record_plan(ref.rsplit("/", 1)[-1]))
    lines = {
        "import pulumi",
        "import cells.core.config, cells.core.fleet, cells.offline.plan, cells.offline.mocks",
    }
    for r in (r for plan in plans for r in plan.resources):
        pkg, _, rest = r.type.partition(":")
        if r.type.startswith("pulumi:providers:"):
            lines.add(f"import pulumi_{r.type.split(':')[2]} as _p; _p.Provider")
        elif pkg in ("aws", "gcp", "cloudflare") and rest:
            module, cls = rest.split("/")[0].split(":")[0], rest.rsplit(":", 1)[-1]
            path = f"pulumi_{pkg}" if module == "index" else f"pulumi_{pkg}.{module}"
            lines.add(f"import {path} as _m; _m.{cls}")
    return "\n".join(sorted(lines))


def paired(runs: int, floor_argv: list[str], plan_argv: list[str]) -> tuple[tuple[float, float], ...]:
    """Median wall time and peak RSS of each, the two runs interleaved so drift hits both alike."""
    floors, plans = [], []
    for _ in range(runs):
        floors.append(measure(floor_argv))
        plans.append(measure(plan_argv))
    return tuple(
        (statistics.median(s[0] for s in samples), max(s[1] for s in samples)) for samples in (floors, plans)
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--suite", action="store_true", help="also time the whole pytest suite once")
    args = parser.parse_args()
    from cells.core.config.stack_files import list_stacks

    py = sys.executable
    rows = []
    # Warm the byte-code cache so neither side pays compilation.
    measure([py, "-m", "cells", "plan", "global", "--quiet"])
    for stack in list_stacks():
        code = sdk_imports(stack)
        floor, plan = paired(args.runs, [py, "-c", code], [py, "-m", "cells", "plan", stack, "--quiet"])
        rows.append(
            {
                "stack": stack,
                "classes": code.count("\n") + 1,
                "import_s": round(floor[0], 2),
                "import_mib": round(floor[1]),
                "plan_s": round(plan[0], 2),
                "plan_mib": round(plan[1]),
                "ratio": round(plan[0] / floor[0], 2),
            }
        )
    print(
        f"{'stack':<14}{'classes':>8}{'import s':>10}{'import MiB':>12}{'plan s':>8}{'plan MiB':>10}{'ratio':>7}"
    )
    for r in rows:
        print(
            f"{r['stack']:<14}{r['classes']:>8}{r['import_s']:>10}{r['import_mib']:>12}{r['plan_s']:>8}"
            f"{r['plan_mib']:>10}{r['ratio']:>7}"
        )
    worst = max(r["ratio"] for r in rows)
    result = {"stacks": rows, "worst_ratio": worst, "goal_ratio": GOAL_RATIO}
    ok = worst <= GOAL_RATIO
    if args.suite:
        start = time.perf_counter()
        subprocess.run(
            [py, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "no:warnings"],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        suite = time.perf_counter() - start
        result["suite_s"] = round(suite, 1)
        print(f"test suite: {suite:.1f} s (goal {SUITE_GOAL_SECONDS:.0f} s)")
        ok = ok and suite <= SUITE_GOAL_SECONDS
    print(f"worst plan/import ratio: {worst} (goal <= {GOAL_RATIO}) -> {'PASS' if ok else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
