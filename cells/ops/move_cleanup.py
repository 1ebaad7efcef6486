"""After the grace period: delete the source copy of every move that is done, and mark it cleaned."""

from __future__ import annotations

from collections.abc import Iterator

from cells.ops.move_journal import journals, plan_from_journal
from cells.ops.move_plan import DEFAULT_GRACE_HOURS, journal_key
from cells.ops.move_stores import TABLES, FirestoreData
from cells.ops.move_world import World, documents_of, scope_of, shard_scope_from_target


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
        scope = scope_of(world, plan) if plan.kind != "shard" else shard_scope_from_target(world, plan)
        if dry_run:
            yield journal, "would delete the source copy"
            continue
        source = FirestoreData(world.firestore(plan.source, plan.source_database), plan.source_database)
        paths = sorted(documents_of(source, scope))
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
