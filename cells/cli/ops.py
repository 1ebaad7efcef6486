"""The live tools' command line: `register(subparsers)` adds them to `python -m cells`.

Exit codes: 0 clean / healthy / done; 1 findings, unhealthy, or an AWS or Cloudflare error (one
message on stderr); 2 bad input, raised as a `UserError` (cells.core.errors) for `python -m cells` to print (unknown stack
or cell, a stack that is not a cell, missing Cloudflare settings, a refused drain without --force).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cells.cli import EXIT_FAILED, EXIT_OK
from cells.core.config.stack import StackSettings
from cells.core.config.stack_files import PROJECT_ROOT, load_stack
from cells.core.errors import OutputFileError, UsageError
from cells.core.fleet import Fleet, load_fleet
from cells.core.naming import cell_api_host
from cells.ops import status
from cells.ops.audit import gcp
from cells.ops.audit.collect import run as run_audit
from cells.ops.audit.render import nothing_found, render, to_json
from cells.ops.aws import Aws, AwsError
from cells.ops.directory import TARGETS, EdgeFactory, change_status, find_cell, reconcile, shown
from cells.ops.edge import CLOUDFLARE_TOKEN_ENV, KV_NAMESPACE_ENV, EdgeError, edges_of
from cells.ops.report import write_json

REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

AUDIT_EXITS = (
    "Exit codes: 0 clean (no finding); 1 findings, or an AWS error (the message names the call, the "
    "region and what to check); 2 bad input (unknown stack, not a cell stack, bad --regions); 3 nothing "
    "of the cell found in this account (wrong account, or not deployed). A --json file that cannot be "
    "written is reported after the findings, and the exit code stays the findings' (1 when clean)."
)
EXIT_NOTHING_FOUND = 3
STATUS_EXITS = (
    "Exit codes: 0 healthy; 1 unhealthy, or an AWS error (the message names the call, the region and "
    "what to check); 2 bad input (unknown stack, not a cell stack)."
)
DIRECTORY_EXITS = (
    "Exit codes: 0 done (also when nothing needed to change); 1 an AWS or Cloudflare error, or the "
    "cell changed under us (re-run); 2 bad input (unknown cell, missing Cloudflare settings) or refused "
    "(the last active cell of a zone without --force); nothing is written then."
)
BAKE_EXITS = (
    "Exit codes: 0 every reading healthy for the whole bake; 1 an unhealthy reading (printed; the bake "
    "stops there) or an AWS error; 2 bad input (unknown stack, not a cell stack, a negative time)."
)
RECONCILE_EXITS = (
    "Exit codes: 0 in sync (already, or repaired now); 1 an AWS or Cloudflare error, or a zone without an "
    "active cell; 2 bad input (unknown cell or zone, missing Cloudflare settings)."
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", metavar="NAME", help="AWS profile to use (default: the usual AWS credential chain)"
    )


def register(subparsers: Any) -> None:
    """Add audit, status, drain, activate and down to an argparse subparsers object."""
    p_audit = subparsers.add_parser(
        "audit",
        help="audit a live cell against its rules (residency)",
        description="Audit what a live cell holds in the AWS account.",
        epilog=AUDIT_EXITS,
    )
    checks = p_audit.add_subparsers(dest="audit_check", required=True, metavar="CHECK")
    residency = checks.add_parser(
        "residency",
        help="find the cell's resources in every region and check they stay in its zone",
        description="Find every AWS resource tagged myark:cell=<cell> in every enabled region (tagging API, "
        "plus S3 and AWS Backup which it misses) and report: resources outside the cell's residency zone "
        "(global services and the CloudFront us-east-1 certificate exempt), S3 replication, DynamoDB "
        "replicas and backup copies leaving the zone, buckets without encryption, full public access "
        "block or versioning, and DynamoDB tables without point-in-time recovery or deletion protection.",
        epilog=AUDIT_EXITS,
    )
    residency.add_argument("stack", metavar="STACK", help="cell stack: the X of a Pulumi.X.yaml")
    residency.add_argument(
        "--json", metavar="PATH", help="also write the findings as JSON to PATH (- for stdout only)"
    )
    residency.add_argument(
        "--skip-gcp",
        action="store_true",
        help="do not search the cell's GCP project (by default it is searched, and a missing token is a finding)",
    )
    residency.add_argument(
        "--regions",
        metavar="R1,R2",
        help="scan only these regions with the tagging API "
        "(default: every enabled region, from ec2:DescribeRegions)",
    )
    _common(residency)

    p_status = subparsers.add_parser(
        "status",
        help="live health of a cell (the release gate): ALB targets, ECS tasks and rollout, alarms, canary",
        description="Check, in the cell's region: target groups tagged with the cell (healthy vs registered "
        "targets), ECS services tagged with the cell (running vs desired tasks; the deployment finished: "
        "rollout COMPLETED, no circuit-breaker rollback), with --expect-task-definition that the API runs the "
        "task definition the stack deployed, the cell's Synthetics canary (<cell>-health: last run PASSED "
        "within 15 minutes), and CloudWatch alarms in ALARM named <cell>-... or tagged with the cell.",
        epilog=STATUS_EXITS,
    )
    p_status.add_argument("stack", metavar="STACK", help="cell stack: the X of a Pulumi.X.yaml")
    p_status.add_argument(
        "--json", metavar="PATH", help="also write the checks as JSON to PATH (- for stdout only)"
    )
    _expect_option(p_status)
    _common(p_status)
    _register_bake(subparsers)

    descriptions = {
        "drain": (
            "stop sending new users to a cell; its own users keep being served",
            "Set the cell's status to draining in the cell directory (DynamoDB) and at the edge. Cloudflare: "
            "the Worker keeps serving the cell's home users and sends no new or anonymous user to it, even if "
            "it is its zone's default cell: they go to another active cell of the same zone, or get a 503 "
            "with Retry-After when the zone has none. Route53: the cell's health check is inverted, so the "
            "zone's geolocation records stop answering with it (failover stays inside the zone).",
        ),
        "activate": (
            "put a cell back into service",
            "Set the cell's status to active in the cell directory and at the edge (Cloudflare KV "
            "status:<cell>=active; Route53: the health check is no longer inverted).",
        ),
        "down": (
            "take a cell down: the edge answers 503 to its users, never another cell",
            "Set the cell's status to down in the cell directory and at the edge. Cloudflare: the Worker "
            "answers 503 with Retry-After to the cell's users instead of routing them elsewhere. Route53 "
            "cannot answer 503: the health check is inverted as for drain.",
        ),
    }
    for command, (help_text, description) in descriptions.items():
        p = subparsers.add_parser(
            command,
            help=help_text,
            description=description + " A zone keeps at least one active cell unless --force. "
            "Running the command again changes nothing (idempotent).",
            epilog=DIRECTORY_EXITS,
        )
        p.add_argument("cell", metavar="CELL", help="cell name (myark:cell.name of a cell stack)")
        if command != "activate":
            p.add_argument(
                "--force", action="store_true", help="allow leaving the cell's zone without an active cell"
            )
        _edge_options(p)
        _common(p)
    _register_reconcile(subparsers)


def _edge_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kv-namespace-id",
        metavar="ID",
        help=f"Cloudflare edge: the directory's Workers KV namespace id (default: ${KV_NAMESPACE_ENV})",
    )
    p.add_argument(
        "--cloudflare-api-token",
        metavar="TOKEN",
        help=f"Cloudflare edge: API token with Workers KV edit (default: ${CLOUDFLARE_TOKEN_ENV}; prefer "
        "the variable, a flag shows in shell history and ps)",
    )


def _expect_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--expect-task-definition",
        metavar="ARN",
        default="",
        help="the task definition the stack deployed (`pulumi stack output apiTaskDefinitionArn`): the API "
        "service must run exactly this revision",
    )


def _register_bake(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bake",
        help="poll the release gate (cells status) every minute for the bake time",
        description="Read the same checks as `status` now and every --interval seconds until --minutes have "
        "passed, and stop at the first unhealthy reading (a deployment's bake).",
        epilog=BAKE_EXITS,
    )
    p.add_argument("stack", metavar="STACK", help="cell stack: the X of a Pulumi.X.yaml")
    p.add_argument("--minutes", type=float, required=True, help="bake time in minutes")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between readings (default 60)")
    _expect_option(p)
    _common(p)


def _register_reconcile(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "reconcile",
        help="make the edge follow the cell directory and report any drift",
        description="Read the cell directory (the truth) and set each cell's edge (Cloudflare KV "
        "status:<cell> or the Route53 health check's inversion) to match, reporting every cell whose edge "
        "disagreed. Repairs what a drain/activate/down that crashed between its two writes left behind.",
        epilog=RECONCILE_EXITS,
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("cell", metavar="CELL", nargs="?", help="one cell (myark:cell.name)")
    which.add_argument("--zone", metavar="ZONE", help="every cell of this residency zone")
    _edge_options(p)
    _common(p)


# ---- handlers -----------------------------------------------------------------------------------


def _root(args: argparse.Namespace) -> Path:
    return getattr(args, "root", None) or PROJECT_ROOT


def _cell_stack(args: argparse.Namespace) -> StackSettings:
    settings = load_stack(args.stack, _root(args))
    if settings.config.kind != "cell":
        raise UsageError(
            f"{settings.file}: {args.command} needs a cell stack; {args.stack} is the global stack"
        )
    return settings


def _regions(text: str | None) -> list[str] | None:
    if text is None:
        return None
    regions = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in regions if not REGION_NAME.fullmatch(r)]
    if bad or not regions:
        raise UsageError(
            f"--regions {text!r}: not a list of AWS region names; write e.g. eu-central-1,us-east-1"
        )
    return regions


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    print(f"{args.command}: {exc}", file=sys.stderr)
    return EXIT_FAILED


def cmd_audit(args: argparse.Namespace) -> int:
    settings = _cell_stack(args)
    regions = _regions(args.regions)
    aws = Aws.connect(args.profile)
    cell = settings.cell
    try:
        search = gcp.search_from_environment(args.skip_gcp, getattr(args, "gcp_transport", None))
        result, note = run_audit(aws, cell.name, cell.zone, cell.region, regions, cell.gcp.project, search)
    except AwsError as exc:
        return _failed(args, exc)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if args.json != "-":
        print(render(result))
    if result.inventory.empty and args.json == "-":  # otherwise the report above says it
        print(f"{args.command}: {nothing_found(result.inventory)}", file=sys.stderr)
    code = EXIT_NOTHING_FOUND if result.inventory.empty else EXIT_OK if result.clean else EXIT_FAILED
    if args.json:
        try:
            write_json(args.json, to_json(result))
        except OutputFileError as exc:  # the findings are printed; the file error must not hide them
            print(f"{args.command}: {exc}", file=sys.stderr)
            return code if code != EXIT_OK else EXIT_FAILED
        if args.json != "-":
            print(f"wrote {args.json}")
    return code


def cmd_status(args: argparse.Namespace) -> int:
    settings = _cell_stack(args)
    aws = Aws.connect(args.profile)
    try:
        health = status.run(aws, settings.cell.name, settings.cell.region, args.expect_task_definition)
    except AwsError as exc:
        return _failed(args, exc)
    if args.json != "-":
        print(status.render(health))
    if args.json:
        write_json(args.json, status.to_json(health))
        if args.json != "-":
            print(f"wrote {args.json}")
    return EXIT_OK if health.healthy else EXIT_FAILED


def cmd_bake(args: argparse.Namespace) -> int:
    settings = _cell_stack(args)
    if args.minutes < 0 or args.interval <= 0:
        raise UsageError(
            f"--minutes {args.minutes:g} --interval {args.interval:g}: the bake time must be 0 or more minutes "
            "and the interval more than 0 seconds"
        )
    aws = Aws.connect(args.profile)
    cell = settings.cell

    def report(n: int, elapsed: float, health: status.CellHealth) -> None:
        verdict = "healthy" if health.healthy else "UNHEALTHY"
        print(f"bake {cell.name}: reading {n} at {elapsed / 60:.1f} min: {verdict}", flush=True)

    try:
        result = status.bake(
            lambda: status.run(aws, cell.name, cell.region, args.expect_task_definition),
            args.minutes,
            args.interval,
            sleep=getattr(args, "sleep", None) or time.sleep,
            clock=getattr(args, "clock", None) or time.monotonic,
            report=report,
        )
    except AwsError as exc:
        return _failed(args, exc)
    if not result.passed:
        print(status.render(result.last))
        print(f"bake {cell.name}: FAILED at reading {result.readings} ({result.elapsed / 60:.1f} min)")
        return EXIT_FAILED
    print(f"bake {cell.name}: {result.readings} healthy readings over {args.minutes:g} min")
    return EXIT_OK


def _edges(args: argparse.Namespace, fleet: Fleet, aws: Aws) -> EdgeFactory:
    """A fresh view of any cell's edge (each call reads the edge again)."""
    return edges_of(
        fleet, aws, args.kv_namespace_id, args.cloudflare_api_token, getattr(args, "transport", None)
    )


def notes(provider: str, target: str, cell: str, domain: str) -> list[str]:
    """What the operator should expect after a change, per edge."""
    if provider == "cloudflare":
        return [
            "The Worker caches statuses: expect the edge to follow within about a minute "
            "(KV propagation plus CELL_CACHE_TTL_SECONDS, 30 s by default)."
        ]
    out = [
        "DNS follows within the health check's interval times its failure threshold, plus the records' TTL."
    ]
    if target != "active":
        tail = ", and it cannot answer 503 (down has the DNS effect of drain)" if target == "down" else ""
        out.append(
            f"Route53 routes per query, not per user: clients that already know {cell_api_host(cell, domain)} "
            f"still reach the cell{tail}."
        )
    return out


def _directory_command(command: str) -> Callable[[argparse.Namespace], int]:
    target = TARGETS[command]

    def handler(args: argparse.Namespace) -> int:
        fleet = load_fleet(_root(args))
        settings = find_cell(fleet, args.cell)
        aws = Aws.connect(args.profile)
        edges = _edges(args, fleet, aws)
        cell, zone = settings.cell.name, settings.cell.zone
        try:
            outcome = change_status(
                aws, fleet, settings, target, edges, force=getattr(args, "force", False), command=command
            )
        except (AwsError, EdgeError) as exc:
            return _failed(args, exc)
        print(f"{command} {cell} (zone {zone}):")
        for change in outcome.changes:
            print(f"  {change.line()}")
        for other, change in outcome.repaired:
            print(f"  repaired drift of {other}: {change.line()}")
        for problem in outcome.unchecked:
            print(f"note: could not check the edge of {problem}", file=sys.stderr)
        if any(c.changed for c in outcome.changes):
            provider = fleet.global_stack.config.edge.provider
            print("\n".join(notes(provider, target, cell, settings.config.domain)))
        return EXIT_OK

    handler.__name__ = f"cmd_{command}"
    return handler


def cmd_reconcile(args: argparse.Namespace) -> int:
    fleet = load_fleet(_root(args))
    if args.cell:
        settings = find_cell(fleet, args.cell)
        zone, cells = settings.cell.zone, [settings.cell.name]
    else:
        zone = args.zone
        cells = [s.cell.name for s in fleet.cells_in_zone(zone)]
        if not cells:
            zones = ", ".join(sorted({s.cell.zone for s in fleet.cells})) or "none"
            raise UsageError(
                f"--zone {zone}: no cell of the fleet is in that zone; zones with cells: {zones}"
            )
    aws = Aws.connect(args.profile)
    try:
        report = reconcile(aws, fleet, zone, cells, _edges(args, fleet, aws))
    except (AwsError, EdgeError) as exc:
        return _failed(args, exc)
    print(f"reconcile {', '.join(cells)} (zone {zone}, directory version {report.version}):")
    for cell, change in report.edges:
        state = shown(report.statuses.get(cell))
        verdict = "REPAIRED drift" if change.changed else "in sync"
        print(f"  {cell}: directory {state}; {change.line()} ({verdict})")
    print(f"{len(report.drift)} drifted, {len(cells) - len(report.drift)} in sync.")
    if not report.active:
        print(
            f"reconcile: zone {zone} has no active cell (statuses: "
            f"{', '.join(f'{c}={shown(s)}' for c, s in sorted(report.statuses.items()))}); "
            f"new users of {zone} have no cell. `activate` one if this was not deliberate (--force).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "audit": cmd_audit,
    "status": cmd_status,
    "bake": cmd_bake,
    **{command: _directory_command(command) for command in TARGETS},
    "reconcile": cmd_reconcile,
}
