"""The harness of the drain / down / activate races (`tests/ops/test_ops_race.py`, `benchmarks/ops_race.py`).

Threads run the real command code at the same time against a moto server in another process; every
trial starts two or three random commands over the three cells of zone eu at once (random cells,
random start offsets), then checks the zone invariant and that the edge (Route53 health checks) agrees
with the directory.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
from ops_support import DIRECTORY_TABLE as TABLE
from ops_support import add_cell, create_cell_health_check, create_directory_table, run

from cells.core.fleet import load_fleet
from cells.ops.directory import effective

GLOBAL_REGION = "us-east-1"
EU_CELLS = ("eu-central-1", "eu-spare", "eu-third")
SEED = 20261126


def together(target: Callable[[int], None], n: int) -> None:
    """Run target(0) .. target(n - 1) in n threads at once, and wait for them all."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Account:
    def __init__(self, url: str) -> None:
        session = boto3.Session()
        self.ddb = session.client("dynamodb", region_name=GLOBAL_REGION, endpoint_url=url)
        self.r53 = session.client("route53", region_name=GLOBAL_REGION, endpoint_url=url)
        self.checks: dict[str, str] = {}

    def deploy(self, cells: list[str]) -> None:
        create_directory_table(self.ddb)
        for cell in cells:
            self.checks[cell] = create_cell_health_check(self.r53, cell)

    def status(self, cell: str) -> str:
        item = self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"cell#{cell}"}}, ConsistentRead=True)
        return effective(item.get("Item", {}).get("status", {}).get("S"))

    def inverted(self, cell: str) -> bool:
        hc = self.r53.get_health_check(HealthCheckId=self.checks[cell])["HealthCheck"]
        return bool(hc["HealthCheckConfig"].get("Inverted"))


def race(root: Path, argvs: list[list[str]], rng: random.Random) -> list[int]:
    codes = [-1] * len(argvs)
    start = threading.Barrier(len(argvs))
    offsets = [rng.uniform(0, 0.03) for _ in argvs]

    def one(i: int) -> None:
        start.wait()
        time.sleep(offsets[i])
        codes[i] = run(argvs[i], root)

    together(one, len(argvs))
    return codes


def interleave(
    root: Path, account: Account, all_cells: list[str], trials: int, seed: int
) -> tuple[Counter[str], list[str], float]:
    """`trials` races of 2 or 3 random commands on the eu cells: figures, broken invariants, seconds."""
    rng = random.Random(seed)
    figures: Counter[str] = Counter()
    broken: list[str] = []
    began = time.monotonic()
    after = {c: account.status(c) for c in all_cells}
    for trial in range(trials):
        before = {c: after[c] for c in EU_CELLS}  # nothing changed since the last trial's check
        ops = [
            (rng.choice(("drain", "down", "activate")), rng.choice(EU_CELLS))
            for _ in range(rng.choice((2, 3)))
        ]
        # At stake: the commands together would empty the zone if none were refused.
        removing = {cell for command, cell in ops if command != "activate"}
        if all(c in removing for c, s in before.items() if s == "active") and "activate" not in {
            c for c, _ in ops
        }:
            figures["at stake"] += 1
        codes = race(root, [[command, cell] for command, cell in ops], rng)
        figures.update({0: "done", 1: "failed", 2: "refused"}.get(c, "?") for c in codes)
        after = {c: account.status(c) for c in all_cells}
        if not any(after[c] == "active" for c in EU_CELLS):
            broken.append(f"trial {trial}: {ops} -> {codes}: zone eu has no active cell: {after}")
        for cell, status in after.items():
            if account.inverted(cell) != (status != "active"):
                broken.append(f"trial {trial}: {ops}: {cell} is {status} but its health check disagrees")
        if 1 in codes:
            broken.append(f"trial {trial}: {ops} -> {codes}: a command failed")
        figures["interleavings"] += 1
        figures["commands"] += len(ops)
    return figures, broken, time.monotonic() - began


def fleet_of_three(root: Path) -> list[str]:
    """The project's fleet plus two eu cells: every cell name."""
    add_cell(root, "eu-spare", "eu-west-3", "10.200.0.0/16")
    add_cell(root, "eu-third", "eu-west-1", "10.201.0.0/16")
    all_cells = [s.cell.name for s in load_fleet(root).cells]
    assert sorted(c for c in all_cells if c.startswith("eu-")) == sorted(EU_CELLS)
    return all_cells
