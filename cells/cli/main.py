"""`python -m cells`: the platform team's command line, one module per command group beside this one.

Exit codes everywhere: 0 done, 2 a user mistake (bad config, unknown stack, bad argument; one
message on stderr), 1 anything else (the plan found violations, a check failed, an error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cells.cli import EXIT_FAILED, EXIT_USAGE, docs, move, ops, scan, shards, waves
from cells.cli import plan as plan_commands
from cells.core.errors import UsageError, UserError
from cells.offline.plan import PlanError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: one line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m cells",
        description="MyARK cells: offline plans, shard maps, deployment waves, live operations.",
        epilog="Exit codes: 0 done; 1 failed (violations, unhealthy, an error); 2 bad input "
        "(invalid config, unknown stack, bad argument).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan_commands.register(sub)
    shards.register(sub)
    waves.register(sub)
    ops.register(sub)
    scan.register(sub)
    move.register(sub)
    docs.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handlers = {
            **plan_commands.HANDLERS,
            **shards.HANDLERS,
            "waves": waves.run,
            "scan": scan.run,
            "docs": docs.run,
            **ops.HANDLERS,
            **move.HANDLERS,
        }
        return handlers[args.command](args)
    except UserError as exc:  # config, usage, refusal, output file: one message, exit 2
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except PlanError as exc:
        print(f"plan failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
