"""A command group's CLI as `python -m cells` runs it: its `register` and `HANDLERS`, a user error exits 2.

Light (argparse only): the fast tests of the CLI use it without loading moto or boto3.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

from cells.core.errors import UserError


def cli_parser(commands: ModuleType) -> argparse.ArgumentParser:
    """An argparse parser with the command group `commands` (a `cells.cli` module) registered."""
    parser = argparse.ArgumentParser(prog="cells")
    commands.register(parser.add_subparsers(dest="command", required=True))
    return parser


def run_commands(commands: ModuleType, argv: list[str], **extra: Any) -> int:
    """Parse `argv`, add `extra` to the arguments (what the tests hand in), run the handler: UserError -> 2."""
    args = cli_parser(commands).parse_args(argv)
    vars(args).update(**extra)
    try:
        return commands.HANDLERS[args.command](args)
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2
