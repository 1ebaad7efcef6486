"""The mover: a journaled, resumable state machine per user, tenant or logical shard.

planned -> frozen -> copied -> verified -> flipped -> done -> cleaned (after the grace period).

The journal is the item `move#<kind>#<id>` in the control plane's directory. Only the runner holding
its lease (`owner`, `leaseUntil`, renewed at every step and batch) advances it, by conditional
writes; a second runner refuses while the lease lives and takes over once it has expired (the first
crashed). Every step is idempotent: documents are set by path, objects copied by key, rows inserted
only where the target's multiset lacks them, homes flipped on condition of the old value. A crash
anywhere and a re-run of the same command converge with nothing lost or duplicated.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cells.ops.move_api import CellInfo, database_of
from cells.ops.move_plan import (
    DEFAULT_GRACE_HOURS,
    LEASE_SECONDS,
    MovePlan,
    MoveRefused,
    Volume,
    canonical,
    check_capacity,
    check_residency,
    documents_checksum,
    journal_key,
    objects_checksum,
    rows_checksum,
    state_index,
    utilization,
)
from cells.ops.move_stores import (
    BATCH,
    TABLES,
    Conflict,
    FirestoreData,
    FirestoreFactory,
    Identity,
    KeyValue,
    MoveDirectory,
    ObjectStore,
    Rows,
    dataset_id,
    missing_rows,
)


class MoveFailed(Exception):
    """The move stopped (verification mismatch, a store error): the journal says where; re-run."""


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


# ---- planning -------------------------------------------------------------------------------------


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


def _documents(data: FirestoreData, scope: Scope) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in scope.doc_scopes:
        out.update(data.documents(s))
    return out


def _rows(world: World, plan: MovePlan, scope: Scope, side: str) -> dict[str, list[dict]]:
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
    docs = _documents(source, scope)
    objects = world.objects(plan.source).list(scope.prefix) if scope.prefix else {}
    rows = _rows(world, plan, scope, "source")
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


# ---- the state machine ----------------------------------------------------------------------------


class Mover:
    def __init__(self, world: World, owner: str | None = None) -> None:
        self.world = world
        self.owner = owner or uuid.uuid4().hex[:12]
        # (bucket, key) -> (source version, target version) this runner copied; (bucket, key, version) ->
        # SHA-256 of the bytes. S3 versions are immutable, so a hash read before the freeze still holds
        # for the same version after it: the frozen window re-reads only what changed.
        self._copied: dict[tuple[str, str], tuple[str, str]] = {}
        self._sha: dict[tuple[str, str, str], str] = {}

    def _hashes(self, store: ObjectStore, prefix: str) -> dict[str, str]:
        out = {}
        for obj, (version, _) in store.latest(prefix).items():
            cached = (store.bucket, obj, version)
            if cached not in self._sha:
                self._sha[cached] = store.sha256(obj, version)
            out[obj] = self._sha[cached]
        return out

    # journal helpers
    def _now(self) -> float:
        return self.world.clock()

    def _key(self, plan: MovePlan) -> str:
        return journal_key(plan.kind, plan.subject)

    def _renew(self, key: str, extra: Mapping[str, Any] | None = None) -> None:
        try:
            self.world.directory.update(
                key,
                {"leaseUntil": self._now() + LEASE_SECONDS, "updatedAt": self._now(), **(extra or {})},
                condition="#owner = :me",
                values={":me": self.owner},
            )
        except Conflict:
            raise MoveFailed(f"{key}: another runner took the move over; this one stops") from None

    def _advance(self, key: str, before: str, after: str, extra: Mapping[str, Any] | None = None) -> None:
        try:
            self.world.directory.update(
                key,
                {
                    "state": after,
                    "leaseUntil": self._now() + LEASE_SECONDS,
                    "updatedAt": self._now(),
                    **(extra or {}),
                },
                condition="#owner = :me AND #state = :before",
                values={":me": self.owner, ":before": before},
            )
        except Conflict:
            raise MoveFailed(
                f"{key}: the journal changed under this runner (expected {before}); re-run"
            ) from None
        self.world.log(f"  {before} -> {after}")
        self.world.fault(f"after:{after}")

    def _acquire(self, plan: MovePlan) -> dict[str, Any]:
        key, d, now = self._key(plan), self.world.directory, self._now()
        journal = d.get(key)
        if journal and journal.get("state") not in ("cleaned", "aborted"):
            if journal["target"] != plan.target or journal.get("targetDatabase") != plan.target_database:
                raise MoveRefused(
                    f"{plan.kind} {plan.subject} is already moving to {journal['target']} "
                    f"({journal.get('targetDatabase')}, state {journal['state']}); finish that move first"
                )
            if journal["state"] == "done":
                return journal
            if journal.get("owner") != self.owner and float(journal.get("leaseUntil", 0)) > now:
                raise MoveRefused(
                    f"{plan.kind} {plan.subject} is being moved by another runner ({journal.get('owner')}, "
                    f"state {journal['state']}, lease for {int(float(journal['leaseUntil']) - now)} s more); "
                    "wait for it, or re-run after its lease expires if it crashed"
                )
            try:
                d.update(
                    key,
                    {"owner": self.owner, "leaseUntil": now + LEASE_SECONDS},
                    condition="#moveId = :id AND (#owner = :me OR #leaseUntil < :now)",
                    values={":id": journal["moveId"], ":me": self.owner, ":now": now},
                )
            except Conflict:
                raise MoveRefused(
                    f"{plan.kind} {plan.subject}: another runner claimed the move first"
                ) from None
            return {**journal, "owner": self.owner}
        if (
            plan.kind == "user"
            and plan.source == plan.target
            and plan.source_database == plan.target_database
        ):
            raise MoveRefused(f"user {plan.subject} already lives in {plan.target}; nothing to move")
        if (
            plan.kind != "user"
            and plan.source == plan.target
            and plan.source_database == plan.target_database
        ):
            raise MoveRefused(
                f"{plan.kind} {plan.subject} already lives in {plan.target_database}; nothing to move"
            )
        if plan.kind in ("user", "tenant") and plan.source != plan.target:
            dest = self.world.cell(plan.target)
            homed = d.count(dest.name)
            counter = "users" if plan.kind == "user" else "tenants"
            check_capacity(
                plan.kind,
                dest.name,
                homed[counter],
                dest.max_users if plan.kind == "user" else dest.max_tenants,
            )
        journal = {
            "kind": plan.kind,
            "subject": plan.subject,
            "source": plan.source,
            "target": plan.target,
            "sourceDatabase": plan.source_database,
            "targetDatabase": plan.target_database,
            "zone": plan.zone,
            "state": "planned",
            "moveId": uuid.uuid4().hex,
            "owner": self.owner,
            "leaseUntil": now + LEASE_SECONDS,
            "startedAt": now,
            "updatedAt": now,
        }
        try:
            d.update(
                key,
                {k: v for k, v in journal.items()},
                condition="attribute_not_exists(pk) OR #state = :cleaned OR #state = :aborted",
                values={":cleaned": "cleaned", ":aborted": "aborted"},
            )
        except Conflict:
            raise MoveRefused(f"{plan.kind} {plan.subject}: another move of it started first") from None
        self.world.log(f"  journal {key}: planned (move {journal['moveId']})")
        self.world.fault("after:planned")
        return journal

    # the run
    def run(self, plan: MovePlan) -> dict[str, Any]:
        journal = self._acquire(plan)
        key = self._key(plan)
        # Resume from what the journal recorded: after the flip the directory already names the target,
        # so a plan computed afresh would take the target for the source.
        plan = plan_from_journal(journal)
        try:
            self._steps(plan, journal, key)
        except (Exception, KeyboardInterrupt):
            # An orderly failure (or Ctrl-C) hands the lease back so that a re-run need not wait for it;
            # a killed process cannot, and its lease expires after LEASE_SECONDS.
            with contextlib.suppress(Exception):
                self.world.directory.update(
                    key, {"leaseUntil": 0}, condition="#owner = :me", values={":me": self.owner}
                )
            raise
        return self.world.directory.get(key) or {}

    def _steps(self, plan: MovePlan, journal: dict[str, Any], key: str) -> None:
        scope = scope_of(self.world, plan)
        move_id = journal["moveId"]
        state = journal["state"]
        source = FirestoreData(self.world.firestore(plan.source, plan.source_database), plan.source_database)
        target = FirestoreData(self.world.firestore(plan.target, plan.target_database), plan.target_database)
        if state == "planned":
            # Pre-copy while writes still flow: the frozen window then only carries what changed since.
            self._copy(plan, scope, key, source, target, force=False, phase="precopy")
            if scope.prefix:
                for side in (plan.source, plan.target):
                    self._hashes(self.world.objects(side), scope.prefix)
            self.world.fault("precopy:done")
            self._freeze(plan, scope, move_id, source)
            self._advance(key, "planned", "frozen", {"frozenAt": self._now()})
            state = "frozen"
        if state == "frozen":
            volume = self._copy(plan, scope, key, source, target, force=bool(journal.get("forceCopy")))
            self._advance(key, "frozen", "copied", {"volume": volume.__dict__, "forceCopy": False})
            state = "copied"
        if state == "copied":
            sums = self._verify(plan, scope, source, target)
            if sums is None:
                self._advance(key, "copied", "frozen", {"forceCopy": True})
                raise MoveFailed(
                    f"{key}: verification found the target differs from the source; the next run copies "
                    "everything again. Re-run the same command."
                )
            self._advance(key, "copied", "verified", {"checksums": sums})
            state = "verified"
        if state == "verified":
            self._flip(plan, scope, move_id, key, source)
            self._advance(key, "verified", "flipped", {"flippedAt": self._now()})
            state = "flipped"
        if state == "flipped":
            self._unfreeze(plan, scope, move_id, target)
            self._advance(key, "flipped", "done", {"doneAt": self._now()})

    def _freeze(self, plan: MovePlan, scope: Scope, move_id: str, source: FirestoreData) -> None:
        d = self.world.directory
        if plan.kind == "user":
            try:
                d.update(
                    f"user#{plan.subject}",
                    {"frozen": move_id},
                    condition="#cell = :source AND (attribute_not_exists(#frozen) OR #frozen = :m)",
                    values={":source": plan.source, ":m": move_id},
                )
            except Conflict:
                raise MoveRefused(
                    f"user {plan.subject} is no longer homed in {plan.source} or is frozen by another move"
                ) from None
        source.set_fence(scope.fence, {"state": "frozen", "move": move_id, "at": self._now()})

    def _copy(
        self,
        plan: MovePlan,
        scope: Scope,
        key: str,
        source: FirestoreData,
        target: FirestoreData,
        *,
        force: bool,
        phase: str = "copy",
    ) -> Volume:
        world = self.world
        volume = Volume(users=len(scope.extra.get("users", [])) if plan.kind == "shard" else 1)
        src_docs = _documents(source, scope)
        have = {} if force else _documents(target, scope)
        todo = sorted(p for p, data in src_docs.items() if have.get(p) != data)
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            target.write([(p, src_docs[p]) for p in batch])
            world.fault(f"{phase}:documents:batch")
            self._renew(key, {"checkpoint": batch[-1]})
        extras = sorted(set(_documents(target, scope) if force else have) - set(src_docs))
        if extras:
            target.delete(extras)
        volume.documents = len(src_docs)
        volume.bytes += sum(len(canonical(d)) for d in src_docs.values())
        if scope.prefix:
            src_store, dst_store = world.objects(plan.source), world.objects(plan.target)
            src_objects = src_store.latest(scope.prefix)
            dst_objects = {} if force else dst_store.latest(scope.prefix)
            for n, (obj, (version, _size)) in enumerate(sorted(src_objects.items())):
                # Copied by this runner from this very source version, and still there: nothing to do.
                copied = self._copied.get((src_store.bucket, obj))
                if force or obj not in dst_objects or copied != (version, dst_objects[obj][0]):
                    new_version = dst_store.copy_from(src_store, obj)
                    self._copied[(src_store.bucket, obj)] = (version, new_version)
                    world.fault(f"{phase}:objects:item")
                if n % 50 == 49:
                    self._renew(key)
            for obj in sorted(set(dst_objects) - set(src_objects)):
                dst_store.delete(obj)  # deleted at the source since an earlier copy
            volume.objects = len(src_objects)
            volume.bytes += sum(size for _, size in src_objects.values())
        if scope.source_dataset and scope.target_dataset:
            column, value = scope.row_filter
            src_rows, dst_client = _rows(world, plan, scope, "source"), world.rows(plan.target)
            for table, rows in src_rows.items():
                existing = dst_client.select(scope.target_dataset, table, column, value)
                if missing_rows(existing, rows):  # the target holds rows the source lacks: start over
                    dst_client.delete(scope.target_dataset, table, column, value)
                    existing = []
                todo_rows = missing_rows(rows, existing)
                if todo_rows:
                    dst_client.insert(scope.target_dataset, table, todo_rows)
                world.fault(f"{phase}:rows:table")
                volume.rows += len(rows)
                volume.bytes += sum(len(canonical(r)) for r in rows)
        return volume

    def _verify(
        self, plan: MovePlan, scope: Scope, source: FirestoreData, target: FirestoreData
    ) -> dict[str, Any] | None:
        src, dst = _documents(source, scope), _documents(target, scope)
        sums: dict[str, Any] = {"documents": len(src), "documentsSha256": documents_checksum(src)}
        if len(dst) != len(src) or documents_checksum(dst) != sums["documentsSha256"]:
            return None
        if scope.prefix:
            ha = self._hashes(self.world.objects(plan.source), scope.prefix)
            hb = self._hashes(self.world.objects(plan.target), scope.prefix)
            if set(ha) != set(hb) or objects_checksum(ha) != objects_checksum(hb):
                return None
            sums.update(objects=len(ha), objectsSha256=objects_checksum(ha))
        if scope.source_dataset:
            rs, rt = _rows(self.world, plan, scope, "source"), _rows(self.world, plan, scope, "target")
            for table in TABLES:
                if len(rs[table]) != len(rt[table]) or rows_checksum(rs[table]) != rows_checksum(rt[table]):
                    return None
            sums.update(
                rows=sum(len(r) for r in rs.values()),
                rowsSha256=rows_checksum([r for t in TABLES for r in rs[t]]),
            )
        return sums

    def _flip(self, plan: MovePlan, scope: Scope, move_id: str, key: str, source: FirestoreData) -> None:
        world, d = self.world, self.world.directory
        if plan.kind == "shard":
            cell, logical = plan.subject.split(":")
            d.update(f"shard#{cell}#{logical}", {"database": plan.target_database, "movedBy": move_id})
        else:
            dest = world.cell(plan.target)
            homes: list[tuple[str, str, int]] = []
            if plan.kind == "user":
                homes.append((f"user#{plan.subject}", "users", dest.max_users))
            else:
                homes.append((f"tenant#{plan.subject}", "tenants", dest.max_tenants))
                if d.get(f"tenant#{plan.subject}") is None:
                    d.update(f"tenant#{plan.subject}", {"cell": plan.source, "zone": plan.zone})
            for pk, counter, maximum in homes:
                item = d.get(pk) or {}
                if item.get("cell") == plan.target:
                    continue  # flipped by an earlier run
                try:
                    d.flip_home(pk, counter, plan.source, plan.target, plan.zone, move_id, maximum)
                except Conflict:
                    self._abort(plan, scope, key, move_id, source)
                    raise MoveRefused(
                        f"{plan.target} reached its capacity during the move of {plan.kind} {plan.subject}; "
                        "the move is aborted and the subject unfrozen in its old cell"
                    ) from None
            world.fault("flip:directory")
            if world.kv is not None:
                world.kv.put(f"{plan.kind}:{plan.subject}", plan.target)
            world.fault("flip:kv")
            if plan.kind == "user" and world.identity is not None:
                world.identity.set_home(plan.subject, plan.target, plan.zone)
        # Stale writers and readers of the old place are sent on from now on (and refused meanwhile).
        source.set_fence(
            scope.fence, {"state": "moved", "move": move_id, "to": plan.target, "at": self._now()}
        )

    def _abort(self, plan: MovePlan, scope: Scope, key: str, move_id: str, source: FirestoreData) -> None:
        source.clear_fence(scope.fence)
        if plan.kind == "user":
            with contextlib.suppress(Conflict):
                self.world.directory.update(
                    f"user#{plan.subject}",
                    {},
                    removes=["frozen"],
                    condition="#frozen = :m",
                    values={":m": move_id},
                )
        self.world.directory.update(key, {"state": "aborted", "updatedAt": self._now()})

    def _unfreeze(self, plan: MovePlan, scope: Scope, move_id: str, target: FirestoreData) -> None:
        world = self.world
        if target.fence(scope.fence) is not None:
            target.clear_fence(scope.fence)  # a tombstone of an earlier move out of the target
        if plan.kind == "user":
            try:
                world.directory.update(
                    f"user#{plan.subject}",
                    {},
                    removes=["frozen"],
                    condition="attribute_not_exists(#frozen) OR #frozen = :m",
                    values={":m": move_id},
                )
            except Conflict:
                raise MoveFailed(
                    f"user {plan.subject} is frozen by another move; not unfreezing it"
                ) from None
        if world.publish is not None and plan.source != plan.target:
            for name in (plan.source, plan.target):
                info = world.cell(name)
                count = world.directory.count(name)
                world.publish(
                    name,
                    info.region,
                    utilization(count["users"], info.max_users, count["tenants"], info.max_tenants),
                )


# ---- status and cleanup ---------------------------------------------------------------------------


def journals(world: World, subject: str | None = None) -> list[dict[str, Any]]:
    out = []
    for item in world.directory.scan_homes("move#"):
        if subject is None or item.get("subject") == subject:
            out.append(item)
    return sorted(out, key=lambda j: (j.get("kind", ""), j.get("subject", "")))


def plan_from_journal(journal: Mapping[str, Any]) -> MovePlan:
    return MovePlan(
        journal["kind"],
        journal["subject"],
        journal["source"],
        journal["target"],
        journal["zone"],
        journal["sourceDatabase"],
        journal["targetDatabase"],
    )


def cleanup(
    world: World, *, grace_hours: float = DEFAULT_GRACE_HOURS, dry_run: bool = False
) -> Iterator[tuple[dict, str]]:
    """Delete the source copy of every move done at least `grace_hours` ago; yields (journal, what)."""
    now = world.clock()
    for journal in journals(world):
        state = journal.get("state")
        if state != "done":
            continue
        age_h = (now - float(journal.get("doneAt", now))) / 3600
        if age_h < grace_hours:
            yield journal, f"waiting: done {age_h:.1f} h ago, grace {grace_hours:g} h"
            continue
        plan = plan_from_journal(journal)
        scope = scope_of(world, plan) if plan.kind != "shard" else _shard_scope_from_target(world, plan)
        if dry_run:
            yield journal, "would delete the source copy"
            continue
        source = FirestoreData(world.firestore(plan.source, plan.source_database), plan.source_database)
        paths = sorted(_documents(source, scope))
        source.delete(paths)
        deleted_objects = 0
        if scope.prefix and plan.source != plan.target:
            deleted_objects = world.objects(plan.source).delete_all_versions(scope.prefix)
        deleted_rows = 0
        if scope.source_dataset and plan.source != plan.target:
            column, value = scope.row_filter
            for table in TABLES:
                deleted_rows += world.rows(plan.source).delete(scope.source_dataset, table, column, value)
        world.directory.update(
            journal_key(plan.kind, plan.subject),
            {"state": "cleaned", "cleanedAt": now},
            condition="#state = :done AND #moveId = :id",
            values={":done": "done", ":id": journal["moveId"]},
        )
        yield (
            journal,
            f"deleted {len(paths)} documents, {deleted_objects} object versions, {deleted_rows} rows",
        )


def _shard_scope_from_target(world: World, plan: MovePlan) -> Scope:
    """After a shard move the source's user list is what the target now holds for that logical shard."""
    cell, logical = plan.subject.split(":")
    info = world.cell(cell)
    target = FirestoreData(world.firestore(cell, plan.target_database), plan.target_database)
    users = [u for u in target.users() if info.shards.logical_of(u) == int(logical)]
    return Scope(
        [f"user:{u}" for u in users], None, (None, None), None, None, f"shard-{logical}", {"users": users}
    )


def in_flight(journal: Mapping[str, Any]) -> bool:
    return state_index(journal.get("state", "planned")) < state_index("done")
