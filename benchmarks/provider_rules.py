"""Benchmark: what the provider rules add to an offline plan.

For each stack, in one warm interpreter: the median time to record the plan (the mock engine running
the program) and the median time of the stack's provider rules over it; then the fleet rules over all
plans. Goal: the rules add at most 5 % to a plan.

    .venv/bin/python benchmarks/provider_rules.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_PERCENT = 5.0
T = TypeVar("T")


def _median_seconds(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    times: list[float] = []
    result = fn()
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from cells.core.config.stack_files import list_stacks
    from cells.guardrails.provider_rules.registry import check_fleet_plans, check_stack
    from cells.offline.plan import record_plan

    plans = []
    worst = 0.0
    for stack in list_stacks():  # each measured once unmeasured first: imports out of the figure
        plan_s, plan = _median_seconds(lambda s=stack: record_plan(s), args.runs)
        rules_s, _ = _median_seconds(lambda p=plan: check_stack(p), args.runs)
        share = 100 * rules_s / plan_s
        worst = max(worst, share)
        plans.append(plan)
        print(f"{stack:14} plan {plan_s * 1000:8.1f} ms   rules {rules_s * 1000:6.2f} ms   +{share:.2f} %")
    fleet_s, _ = _median_seconds(lambda: check_fleet_plans(plans), args.runs)
    print(f"fleet rules over {len(plans)} plans: {fleet_s * 1000:.2f} ms")
    print(f"worst stack: +{worst:.2f} % (goal <= {GOAL_PERCENT} %)")
    return 0 if worst <= GOAL_PERCENT else 1


if __name__ == "__main__":
    raise SystemExit(main())
