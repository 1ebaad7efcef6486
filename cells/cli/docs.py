"""`python -m cells docs [--check]`: the generated docs, written or checked in one place.

Three files are generated from the code they describe: `docs/config.md` (the config models),
`docs/provider-rules.md` (the providers' rules registry) and the policy table of `policy/README.md`
(the policy pack registry; the prose around the table is kept). After adding a config key, a rule or
a policy, `./dev docs` rewrites them; `--check` (and the tests) fail while one is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cells.cli import EXIT_FAILED, EXIT_OK
from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.errors import write_output


def generated(root: Path = PROJECT_ROOT) -> dict[Path, Callable[[], str]]:
    """Each generated file and how to render it now."""
    from cells.core import config_reference
    from cells.guardrails.policies import readme
    from cells.guardrails.provider_rules.registry import markdown_table

    return {
        root / "docs" / "config.md": config_reference.render,
        root / "docs" / "provider-rules.md": markdown_table,
        root / "policy" / "README.md": lambda: readme.render((root / "policy" / "README.md").read_text()),
    }


def register(sub: Any) -> None:
    p = sub.add_parser(
        "docs",
        help="rewrite the generated docs (config reference, provider rules, policy table), or --check them",
        description="Write docs/config.md, docs/provider-rules.md and the table of policy/README.md from "
        "the code they describe. With --check, write nothing and list the stale ones.",
        epilog="Exit codes: 0 written (or all current); 1 --check found a stale file; 2 a file cannot be written.",
    )
    p.add_argument("--check", action="store_true", help="only report which generated files are stale")


def run(args: argparse.Namespace) -> int:
    stale = []
    for path, render in generated().items():
        name = path.relative_to(PROJECT_ROOT)
        try:
            text = render()
        except ValueError as exc:  # a hand edit removed the markers of a generated table
            print(f"docs: {exc}", file=sys.stderr)
            return EXIT_FAILED
        current = path.read_text() if path.exists() else None
        if current == text:
            print(f"current {name}")
        elif args.check:
            stale.append(name)
            print(f"stale {name}", file=sys.stderr)
        else:
            write_output(str(path), text, "docs")
            print(f"wrote {name}")
    if stale:
        print("run ./dev docs (python -m cells docs) to rewrite them", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
