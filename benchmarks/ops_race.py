"""The zone invariant under concurrency: randomized drain/down/activate races against a moto server.

Each trial starts 2 or 3 random commands (threads running the real command code) over the three cells
of zone eu at once, against a moto server in its own process, then checks that zone eu still has an
active cell and that every cell's Route53 health check agrees with the directory. Prints the figures
the README reports. The same harness runs in the suite (`tests/ops/test_ops_race.py`, 100 trials).

    .venv/bin/python benchmarks/ops_race.py [--trials 300] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from moto_server import moto_server  # noqa: E402
from ops_support import run  # noqa: E402
from race_support import SEED, Account, fleet_of_three, interleave  # noqa: E402

from cells.core.config.stack_files import PROJECT_ROOT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_PROFILE", None)
    root = Path(tempfile.mkdtemp(prefix="ops-race-"))
    try:
        for f in PROJECT_ROOT.glob("Pulumi*.yaml"):
            shutil.copy(f, root / f.name)
        all_cells = fleet_of_three(root)
        with moto_server() as url:
            os.environ["AWS_ENDPOINT_URL"] = url
            account = Account(url)
            account.deploy(all_cells)
            if run(["reconcile", "--zone", "eu"], root) != 0:
                raise SystemExit("the first reconcile failed")
            figures, broken, elapsed = interleave(root, account, all_cells, args.trials, args.seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{figures['interleavings']} interleavings ({figures['commands']} commands: {figures['done']} done, "
        f"{figures['refused']} refused, {figures['failed']} failed); {figures['at stake']} trials could have "
        f"emptied the zone; {len(broken)} broken invariants; {elapsed:.1f} s "
        f"({elapsed / max(args.trials, 1) * 1000:.0f} ms per trial)"
    )
    for line in broken[:20]:
        print("BROKEN:", line)
    raise SystemExit(1 if broken else 0)


if __name__ == "__main__":
    main()
