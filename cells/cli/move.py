"""`cells move user|tenant|shard|status|cleanup` and `cells rebalance`: `register(subparsers)` + HANDLERS.

Exit codes: 0 done (or nothing to do); 1 the move stopped (a store error, a verification mismatch:
the journal says where, re-run the same command); 2 refused (residency, capacity, another move in
flight, unknown user/tenant/cell, bad argument): one line on stderr and nothing changed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cells.cli import EXIT_FAILED, EXIT_OK
from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.fleet import load_fleet
from cells.ops.aws import AwsError
from cells.ops.edge import EdgeError
from cells.ops.move import Mover
from cells.ops.move_cleanup import cleanup
from cells.ops.move_clients import USER_POOL_ENV, real_world
from cells.ops.move_journal import journals
from cells.ops.move_plan import (
    DEFAULT_GRACE_HOURS,
    MIN_GRACE_HOURS,
    MoveFailed,
    MovePlan,
    MoveRefused,
    Volume,
    check_capacity,
    parse_share,
    rebalance_slice,
)
from cells.ops.move_world import World, measure, plan_shard, plan_tenant, plan_user
from cells.ops.report import write_json

EXITS = (
    "Exit codes: 0 done (or nothing to do); 1 the move stopped (store error, verification mismatch): "
    "re-run the same command, it resumes from the journal; 2 refused (residency, capacity, another move "
    "in flight, unknown subject, bad argument): one line, nothing changed."
)


def _outputs(p: argparse.ArgumentParser, dry_run: bool = True) -> None:
    if dry_run:
        p.add_argument(
            "--dry-run",
            action="store_true",
            help="show what would move (users, documents, objects, rows, bytes)",
        )
    p.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH (- for stdout only)")
    p.add_argument("--profile", metavar="NAME", help="AWS profile (default: the usual credential chain)")
    p.add_argument(
        "--user-pool-id",
        metavar="ID",
        help=f"Cognito user pool (default: ${USER_POOL_ENV}, else found by name)",
    )


def register(subparsers: Any) -> None:
    move = subparsers.add_parser(
        "move",
        help="move a user, a tenant or a logical shard; show or clean up moves",
        description="A move is a journaled state machine (journal: the directory's move#<kind>#<id> item): "
        "plan, freeze writes, copy Firestore documents, objects and BigQuery rows, verify counts and checksums, "
        "flip the home (directory, edge KV, Cognito custom:home_cell and custom:home_zone), unfreeze; the "
        "source is deleted by `move cleanup` after a grace period. Re-running a command resumes it.",
        epilog=EXITS,
    )
    actions = move.add_subparsers(dest="move_action", required=True, metavar="ACTION")
    user = actions.add_parser("user", help="move one user to another cell of their zone", epilog=EXITS)
    user.add_argument("subject", metavar="ID", help="the user's id (Cognito sub)")
    user.add_argument(
        "--to", required=True, metavar="CELL", help="target cell (in the user's residency zone)"
    )
    _outputs(user)
    tenant = actions.add_parser(
        "tenant", help="move a dedicated tenant to another cell of its zone", epilog=EXITS
    )
    tenant.add_argument("subject", metavar="ID", help="tenant id (myark:cell.shards.tenants key)")
    tenant.add_argument(
        "--to", required=True, metavar="CELL", help="target cell (in the tenant's contract zone)"
    )
    _outputs(tenant)
    shard = actions.add_parser(
        "shard",
        help="move a logical shard to another physical shard of its cell (the reshard `shards plan` computes)",
        epilog=EXITS,
    )
    shard.add_argument("logical", metavar="LOGICAL", type=int, help="logical shard number")
    shard.add_argument("--to", required=True, metavar="PHYSICAL", help="target physical shard (database)")
    shard.add_argument(
        "--cell", metavar="CELL", help="the cell (default: the one cell with that physical shard)"
    )
    _outputs(shard)
    status = actions.add_parser("status", help="moves in flight and done (journal items)", epilog=EXITS)
    status.add_argument("subject", nargs="?", metavar="ID", help="only this user, tenant or cell:logical")
    _outputs(status, dry_run=False)
    clean = actions.add_parser(
        "cleanup", help="delete the source copy of moves done longer ago than the grace period", epilog=EXITS
    )
    clean.add_argument(
        "--grace-hours",
        type=float,
        default=DEFAULT_GRACE_HOURS,
        metavar="H",
        help=f"wait this long after a move is done (default {DEFAULT_GRACE_HOURS}; at least {MIN_GRACE_HOURS}: "
        "ID tokens name the old cell for up to an hour)",
    )
    _outputs(clean)

    rebalance = subparsers.add_parser(
        "rebalance",
        help="move a deterministic share of a cell's users of the target's zone into the target",
        description="Select the users homed in --from whose residency zone is --to's zone, take the stable "
        "--share percent of them (a hash of the user id; the same share selects the same users, a larger one "
        "adds users) and move each one. The seed's pilot step: rebalance --from us-east-1 --to eu-central-1 "
        "--share 5.",
        epilog=EXITS,
    )
    rebalance.add_argument("--from", dest="source", required=True, metavar="CELL")
    rebalance.add_argument("--to", required=True, metavar="CELL")
    rebalance.add_argument("--share", required=True, metavar="PERCENT", help="percent in (0, 100], e.g. 5")
    _outputs(rebalance)


# ---- handlers -------------------------------------------------------------------------------------


def _world(args: argparse.Namespace) -> World:
    world = getattr(args, "world", None)  # tests hand in moto- and fake-backed stores
    if world is not None:
        return world
    root: Path = getattr(args, "root", None) or PROJECT_ROOT
    fleet = load_fleet(root)
    names = sorted(s.cell.name for s in fleet.cells)
    for cell in (getattr(args, "source", None), getattr(args, "cell", None)):
        if cell is not None and cell not in names:
            raise MoveRefused(f"unknown cell {cell!r}; cells of the fleet: {', '.join(names)}")
    if getattr(args, "move_action", "rebalance") in ("user", "tenant", "rebalance") and args.to not in names:
        raise MoveRefused(f"unknown cell {args.to!r}; cells of the fleet: {', '.join(names)}")
    return real_world(fleet, args.profile, args.user_pool_id)


def _emit(args: argparse.Namespace, text: str, document: Any) -> None:
    if args.json != "-":
        print(text)
    if args.json:
        write_json(args.json, document)
        if args.json != "-":
            print(f"wrote {args.json}")


def _failed(exc: Exception) -> int:
    print(f"move: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _plan(args: argparse.Namespace, world: World) -> MovePlan:
    if args.move_action == "user":
        return plan_user(world, args.subject, args.to)
    if args.move_action == "tenant":
        return plan_tenant(world, args.subject, args.to)
    cell = args.cell
    if cell is None:
        owners = [c.name for c in world.cells.values() if args.to in c.shards.physical]
        if len(owners) != 1:
            raise MoveRefused(
                f"physical shard {args.to!r} belongs to {', '.join(owners) or 'no cell'}; pass --cell CELL"
            )
        cell = owners[0]
    return plan_shard(world, cell, args.logical, args.to)


def _run_one(args: argparse.Namespace, world: World, plan: MovePlan) -> int:
    if args.dry_run:
        measure(world, plan)
        _emit(args, f"dry run: {plan.line()}\nnothing changed", {"dryRun": True, "moves": [plan.to_json()]})
        return EXIT_OK
    if args.json != "-":
        print(
            f"move {plan.kind} {plan.subject}: {plan.source} ({plan.source_database}) -> {plan.target} ({plan.target_database})"
        )
    journal = Mover(world).run(plan)
    text = f"done: {plan.kind} {plan.subject} now lives in {plan.target} ({plan.target_database}); " + (
        "the source copy is deleted by `cells move cleanup` after the grace period"
    )
    _emit(args, text, {"dryRun": False, "journal": journal})
    return EXIT_OK


def cmd_move(args: argparse.Namespace) -> int:
    try:
        world = _world(args)
        if args.move_action == "status":
            return _status(args, world)
        if args.move_action == "cleanup":
            return _cleanup(args, world)
        if args.json == "-":
            world.log = lambda line: None
        return _run_one(args, world, _plan(args, world))
    except (AwsError, EdgeError, MoveFailed) as exc:
        return _failed(exc)


def _status(args: argparse.Namespace, world: World) -> int:
    items = journals(world, args.subject)
    now = world.clock()
    lines = [f"{'KIND':<7} {'SUBJECT':<28} {'FROM':<14} {'TO':<14} {'STATE':<8} DETAIL"]
    for j in items:
        detail = ""
        if j.get("state") not in ("done", "cleaned", "aborted"):
            left = float(j.get("leaseUntil", 0)) - now
            detail = (
                f"runner {j.get('owner')}, lease {int(left)} s"
                if left > 0
                else "runner gone: re-run to resume"
            )
        elif j.get("state") == "done":
            detail = f"done {(now - float(j.get('doneAt', now))) / 3600:.1f} h ago; awaiting cleanup"
        src = j["source"] if j["source"] != j["target"] else j.get("sourceDatabase", "")
        dst = j["target"] if j["source"] != j["target"] else j.get("targetDatabase", "")
        lines.append(f"{j['kind']:<7} {j['subject']:<28} {src:<14} {dst:<14} {j['state']:<8} {detail}")
    if not items:
        lines = ["no moves" + (f" of {args.subject}" if args.subject else "")]
    _emit(args, "\n".join(lines), items)
    return EXIT_OK


def _cleanup(args: argparse.Namespace, world: World) -> int:
    if args.grace_hours < MIN_GRACE_HOURS:
        raise MoveRefused(
            f"--grace-hours {args.grace_hours:g}: at least {MIN_GRACE_HOURS} (ID tokens name the old cell for up "
            "to an hour, and the old cell must answer them with 'moved')"
        )
    results = [
        {"kind": j["kind"], "subject": j["subject"], "source": j["source"], "result": what}
        for j, what in cleanup(world, grace_hours=args.grace_hours, dry_run=args.dry_run)
    ]
    text = "\n".join(f"{r['kind']} {r['subject']} ({r['source']}): {r['result']}" for r in results)
    _emit(args, text or "nothing to clean up", {"dryRun": args.dry_run, "cleanup": results})
    return EXIT_OK


def cmd_rebalance(args: argparse.Namespace) -> int:
    share = parse_share(args.share)
    try:
        world = _world(args)
    except (AwsError, EdgeError, MoveFailed) as exc:
        return _failed(exc)
    source, target = world.cell(args.source), world.cell(args.to)
    if source.name == target.name:
        raise MoveRefused(f"--from and --to are both {source.name}; pick two cells")
    try:
        homes = list(world.directory.scan_homes("user#"))
        count = world.directory.count(target.name)["users"]
    except (AwsError, EdgeError) as exc:  # the directory read fails: one line, exit 1, nothing moved
        return _failed(exc)
    users = rebalance_slice(homes, source.name, target.zone, share)
    if users:
        check_capacity("user", target.name, count + len(users) - 1, target.max_users)
    if args.json == "-":
        world.log = lambda line: None
    try:
        plans = [plan_user(world, u, target.name) for u in users]
        total = Volume()
        if args.dry_run:
            for p in plans:
                total.add(measure(world, p).volume)
            text = (
                f"dry run: rebalance {share:g} % of the zone-{target.zone} users of {source.name} into {target.name}: "
                f"{total.line()}\nnothing changed"
            )
            _emit(args, text, {"dryRun": True, "total": asdict(total), "moves": [p.to_json() for p in plans]})
            return EXIT_OK
        log = world.log
        world.log = lambda line: None
        moved = []
        for p in plans:
            log(f"user {p.subject}: {p.source} -> {p.target}")
            journal = Mover(world).run(p)
            moved.append(journal)
            total.add(Volume(**journal.get("volume", {})) if journal.get("volume") else Volume(users=1))
        world.log = log
        _emit(
            args,
            f"done: moved {len(moved)} users from {source.name} to {target.name} ({total.line()})",
            {"dryRun": False, "moved": [j["subject"] for j in moved], "total": asdict(total)},
        )
        return EXIT_OK
    except (AwsError, EdgeError, MoveFailed) as exc:
        return _failed(exc)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"move": cmd_move, "rebalance": cmd_rebalance}
