"""What a move touches (`World`) and what it says about a subject: where it lives, what would move.

`plan_user`, `plan_tenant` and `plan_shard` read the directory and the fleet into a `MovePlan` (refusing
what must not move); `scope_of` says which documents, objects and rows are the subject's; `measure`
fills in a dry run's volume. Read-only: `cells.ops.move.Mover` does the moving.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cells.ops.move_api import CellInfo, database_of
from cells.ops.move_plan import MovePlan, MoveRefused, Volume, canonical, check_residency
from cells.ops.move_stores import (
    TABLES,
    FirestoreData,
    FirestoreFactory,
    Identity,
    KeyValue,
    MoveDirectory,
    ObjectStore,
    Rows,
    dataset_id,
)


@dataclass
class World:
    """Everything a move touches. The CLI builds it from real clients; tests from moto and fakes."""

    directory: MoveDirectory
    cells: Mapping[str, CellInfo]
    firestore: FirestoreFactory
    objects: Callable[[str], ObjectStore]
    rows: Callable[[str], Rows]
    identity: Identity | None = None
    kv: KeyValue | None = None
    publish: Callable[[str, str, float], None] | None = None  # (cell, region, percent)
    clock: Callable[[], float] = time.time
    fault: Callable[[str], None] = lambda point: None  # fault injection: raise to "crash" at a point
    log: Callable[[str], None] = lambda line: None

    def cell(self, name: str) -> CellInfo:
        if name not in self.cells:
            known = ", ".join(sorted(self.cells))
            raise MoveRefused(f"unknown cell {name!r}; cells of the fleet: {known}")
        return self.cells[name]


@dataclass
class Scope:
    """What of the subject lives where: documents scope, object prefix, rows, fence, homes to flip."""

    doc_scopes: list[str]
    prefix: str | None
    row_filter: tuple[str | None, str | None]
    source_dataset: str | None
    target_dataset: str | None
    fence: str
    extra: dict[str, Any] = field(default_factory=dict)


def plan_user(world: World, user: str, target: str) -> MovePlan:
    home = world.directory.get(f"user#{user}")
    if not home or "cell" not in home or "zone" not in home:
        raise MoveRefused(f"user {user!r} has no home in the directory (user#{user}); nothing to move")
    if world.identity:
        _cell, zone = world.identity.home(user)
        if zone is not None and zone != home["zone"]:
            raise MoveRefused(
                f"user {user}: the directory says zone {home['zone']} but Cognito custom:home_zone says {zone}; "
                "resolve the disagreement before moving"
            )
    source, dest = world.cell(home["cell"]), world.cell(target)
    check_residency("user", user, home["zone"], target, dest.zone)
    return MovePlan(
        "user",
        user,
        source.name,
        dest.name,
        home["zone"],
        database_of(world.directory, source, user),
        database_of(world.directory, dest, user),
    )


def tenant_home(world: World, tenant: str) -> tuple[CellInfo, str, str]:
    """(home cell, physical database, residency zone) of a dedicated tenant.

    The home is the directory's (after a first move), else the cell that declares the tenant without
    `movingFrom` (a declaration with it is the target of a move in progress, not a home)."""
    moved = world.directory.get(f"tenant#{tenant}")
    declared = [
        (info, shard)
        for info in world.cells.values()
        if (shard := info.shards.tenants.get(tenant)) is not None
    ]
    if not declared:
        raise MoveRefused(f"unknown tenant {tenant!r}: no cell's myark:cell.shards.tenants declares it")
    if moved and "cell" in moved:
        home = world.cell(moved["cell"])
        shard = home.shards.tenants.get(tenant) or declared[0][1]
    else:
        home, shard = next(((i, t) for i, t in declared if t.moving_from is None), declared[0])
    zone = shard.residency or next((t.residency for _, t in declared if t.residency), None) or home.zone
    return home, shard.physical, zone


def plan_tenant(world: World, tenant: str, target: str) -> MovePlan:
    source, physical, zone = tenant_home(world, tenant)
    dest = world.cell(target)
    check_residency("tenant", tenant, zone, target, dest.zone)
    incoming = dest.shards.tenants.get(tenant)
    if incoming is None and source.name != dest.name:
        raise MoveRefused(
            f"refusing to move tenant {tenant} to {target}: {target} has no Firestore database or BigQuery "
            f"dataset for it; declare it there first (myark:cell.shards.tenants.{tenant} with movingFrom: "
            f"{source.name} in the stack file of {target}) and run `pulumi up` on {target}"
        )
    return MovePlan(
        "tenant", tenant, source.name, dest.name, zone, physical, incoming.physical if incoming else physical
    )


def plan_shard(world: World, cell_name: str, logical: int, physical: str) -> MovePlan:
    cell = world.cell(cell_name)
    if not 0 <= logical < cell.shards.logical:
        raise MoveRefused(
            f"logical shard {logical} does not exist in {cell.name}: it has 0 to {cell.shards.logical - 1}"
        )
    user_shards = sorted(cell.shards.physical)
    if physical not in user_shards:
        raise MoveRefused(
            f"{physical!r} is not a user shard database of {cell.name}; its user shards: {', '.join(user_shards)}"
        )
    override = world.directory.get(f"shard#{cell.name}#{logical}")
    table = cell.shards.logical_table
    current = override["database"] if override and "database" in override else table[logical]
    return MovePlan("shard", f"{cell.name}:{logical}", cell.name, cell.name, cell.zone, current, physical)


def scope_of(world: World, plan: MovePlan) -> Scope:
    if plan.kind == "user":
        same_cell = plan.source == plan.target
        return Scope(
            [f"user:{plan.subject}"],
            None if same_cell else f"users/{plan.subject}/",
            ("user_id", plan.subject),
            None if same_cell else dataset_id(plan.source),
            None if same_cell else dataset_id(plan.target),
            f"user-{plan.subject}",
        )
    if plan.kind == "tenant":
        return Scope(
            ["all"],
            f"tenants/{plan.subject}/",
            (None, None),
            dataset_id(plan.source, plan.subject),
            dataset_id(plan.target, plan.subject),
            "tenant",
        )
    cell, logical = plan.subject.split(":")
    info = world.cell(cell)
    source = FirestoreData(world.firestore(cell, plan.source_database), plan.source_database)
    users = [u for u in source.users() if info.shards.logical_of(u) == int(logical)]
    return Scope(
        [f"user:{u}" for u in users], None, (None, None), None, None, f"shard-{logical}", {"users": users}
    )


def documents_of(data: FirestoreData, scope: Scope) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in scope.doc_scopes:
        out.update(data.documents(s))
    return out


def rows_of(world: World, plan: MovePlan, scope: Scope, side: str) -> dict[str, list[dict]]:
    dataset = scope.source_dataset if side == "source" else scope.target_dataset
    if dataset is None:
        return {}
    client = world.rows(plan.source if side == "source" else plan.target)
    column, value = scope.row_filter
    return {t: client.select(dataset, t, column, value) for t in TABLES}


def measure(world: World, plan: MovePlan) -> MovePlan:
    """Fill in what would move (a dry run): read-only."""
    scope = scope_of(world, plan)
    source = FirestoreData(world.firestore(plan.source, plan.source_database), plan.source_database)
    docs = documents_of(source, scope)
    objects = world.objects(plan.source).list(scope.prefix) if scope.prefix else {}
    rows = rows_of(world, plan, scope, "source")
    plan.volume = Volume(
        users=len(scope.extra.get("users", []))
        if plan.kind == "shard"
        else (1 if plan.kind == "user" else 0),
        documents=len(docs),
        objects=len(objects),
        rows=sum(len(r) for r in rows.values()),
        bytes=sum(len(canonical(d)) for d in docs.values())
        + sum(objects.values())
        + sum(len(canonical(r)) for rs in rows.values() for r in rs),
    )
    return plan


def shard_scope_from_target(world: World, plan: MovePlan) -> Scope:
    """After a shard move the source's user list is what the target now holds for that logical shard."""
    cell, logical = plan.subject.split(":")
    info = world.cell(cell)
    target = FirestoreData(world.firestore(cell, plan.target_database), plan.target_database)
    users = [u for u in target.users() if info.shards.logical_of(u) == int(logical)]
    return Scope(
        [f"user:{u}" for u in users], None, (None, None), None, None, f"shard-{logical}", {"users": users}
    )
