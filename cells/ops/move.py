"""The mover: a journaled, resumable state machine per user, tenant or logical shard.

planned -> frozen -> copied -> verified -> flipped -> done -> cleaned (after the grace period).

The journal is the item `move#<kind>#<id>` in the control plane's directory. Only the runner holding
its lease (`owner`, `leaseUntil`, renewed at every step and batch) advances it, by conditional
writes; a second runner refuses while the lease lives and takes over once it has expired (the first
crashed). Every step is idempotent: documents are set by path, objects copied by key, rows inserted
only where the target's multiset lacks them, homes flipped on condition of the old value. A crash
anywhere and a re-run of the same command converge with nothing lost or duplicated.

`Mover` runs the steps. Beside it: `move_world` (the `World` a move touches, plans, scopes, a dry run's
measure), `move_journal` (the journal and the lease), `move_cleanup` (the source copy deleted after the
grace period), `move_clients` (the real world's clients), `move_plan` (the decisions on plain data),
`move_stores` (the stores), `move_api` (placement and the API's data path).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from cells.ops.move_journal import Lease, plan_from_journal
from cells.ops.move_plan import (
    MoveFailed,
    MovePlan,
    MoveRefused,
    Volume,
    canonical,
    documents_checksum,
    journal_key,
    objects_checksum,
    rows_checksum,
    utilization,
)
from cells.ops.move_stores import BATCH, TABLES, Conflict, FirestoreData, ObjectStore, missing_rows
from cells.ops.move_world import Scope, World, documents_of, rows_of, scope_of


class Mover:
    def __init__(self, world: World, owner: str | None = None) -> None:
        self.world = world
        self.owner = owner or uuid.uuid4().hex[:12]
        self.lease = Lease(world, self.owner)
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

    def _now(self) -> float:
        return self.world.clock()

    def run(self, plan: MovePlan) -> dict[str, Any]:
        journal = self.lease.acquire(plan)
        key = journal_key(plan.kind, plan.subject)
        # Resume from what the journal recorded: after the flip the directory already names the target,
        # so a plan computed afresh would take the target for the source.
        plan = plan_from_journal(journal)
        try:
            self._steps(plan, journal, key)
        except (Exception, KeyboardInterrupt):
            # An orderly failure (or Ctrl-C) hands the lease back so that a re-run need not wait for it;
            # a killed process cannot, and its lease expires after LEASE_SECONDS.
            self.lease.release(key)
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
            self.lease.advance(key, "planned", "frozen", {"frozenAt": self._now()})
            state = "frozen"
        if state == "frozen":
            volume = self._copy(plan, scope, key, source, target, force=bool(journal.get("forceCopy")))
            self.lease.advance(key, "frozen", "copied", {"volume": volume.__dict__, "forceCopy": False})
            state = "copied"
        if state == "copied":
            sums = self._verify(plan, scope, source, target)
            if sums is None:
                self.lease.advance(key, "copied", "frozen", {"forceCopy": True})
                raise MoveFailed(
                    f"{key}: verification found the target differs from the source; the next run copies "
                    "everything again. Re-run the same command."
                )
            self.lease.advance(key, "copied", "verified", {"checksums": sums})
            state = "verified"
        if state == "verified":
            self._flip(plan, scope, move_id, key, source)
            self.lease.advance(key, "verified", "flipped", {"flippedAt": self._now()})
            state = "flipped"
        if state == "flipped":
            self._unfreeze(plan, scope, move_id, target)
            self.lease.advance(key, "flipped", "done", {"doneAt": self._now()})

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
        src_docs = documents_of(source, scope)
        have = {} if force else documents_of(target, scope)
        todo = sorted(p for p, data in src_docs.items() if have.get(p) != data)
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            target.write([(p, src_docs[p]) for p in batch])
            world.fault(f"{phase}:documents:batch")
            self.lease.renew(key, {"checkpoint": batch[-1]})
        extras = sorted(set(documents_of(target, scope) if force else have) - set(src_docs))
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
                    self.lease.renew(key)
            for obj in sorted(set(dst_objects) - set(src_objects)):
                dst_store.delete(obj)  # deleted at the source since an earlier copy
            volume.objects = len(src_objects)
            volume.bytes += sum(size for _, size in src_objects.values())
        if scope.source_dataset and scope.target_dataset:
            column, value = scope.row_filter
            src_rows, dst_client = rows_of(world, plan, scope, "source"), world.rows(plan.target)
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
        src, dst = documents_of(source, scope), documents_of(target, scope)
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
            rs, rt = rows_of(self.world, plan, scope, "source"), rows_of(self.world, plan, scope, "target")
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
