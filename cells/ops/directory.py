"""Drain, activate or take down a cell: its status in the cell directory and at the edge.

Two places hold a cell's status. The directory is the truth; the edge follows it:
- the global stack's DynamoDB cell directory (tagged `myark:role=cell-directory`, in the global
  region): item `cell#<name>` with `status`, `zone`, `updatedAt`, `updatedBy`, `previousStatus`, and
  one item `zone#<zone>` per zone with a `version` that every status change of a cell of the zone bumps;
- the edge (see `cells.ops.edge`): a Workers KV key or a Route53 health check per cell.

The zone invariant under concurrency. A change reads the zone item and every cell item of the zone in
one TransactGetItems (a consistent snapshot), checks the rule below on that snapshot, and writes the
cell item and the zone item in one TransactWriteItems conditioned on the zone's version and the
cell's status being what it read. Any other change in the zone between the read and the write bumps
the version, so the transaction is cancelled and the command starts over on fresh data (a few times,
then it says so). No interleaving of commands can therefore leave a zone without an active cell
unless `--force` was given.

The edge is written after the directory, by a loop that any command runs for every cell of the
fleet: read the cell's directory status, set the edge to it (Route53 with the health check's version,
so a stale writer is refused), read the directory again and start over if it moved. The last edge
write is therefore made by a command that saw the directory's final status after writing. A command
that crashed between its directory write and its edge write leaves drift that the next run of any
command (or `cells reconcile`) repairs.

Safety rule: a zone keeps at least one active cell. Draining or downing a cell whose directory
status would change, while no other cell of its zone (from the fleet's stack files) is active, is
refused unless forced. A cell missing from the directory counts as active (the edge's rule too).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cells.core.config.stack import StackSettings
from cells.core.errors import Refusal, UsageError
from cells.core.fleet import Fleet
from cells.core.naming import TAG_ROLE
from cells.ops.aws import Aws, AwsError
from cells.ops.edge import Edge, EdgeConflict, EdgeError

STATUSES = ("active", "draining", "down")
# command -> the status it sets
TARGETS = {"drain": "draining", "activate": "active", "down": "down"}
DIRECTORY_ROLE = "cell-directory"
# A cancelled transaction (another change in the zone) is retried on fresh data this many times.
ATTEMPTS = 8
# An edge that keeps moving under us (other commands) is re-synced this many times.
EDGE_ATTEMPTS = 8

EdgeFactory = Callable[[str], Edge]  # a fresh view of one cell's edge (nothing cached)


class Refused(Refusal):
    """The command would leave a zone without an active cell; nothing was changed."""


@dataclass(frozen=True)
class Change:
    place: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def line(self) -> str:
        return f"{self.place}: {self.before} -> {self.after}" + ("" if self.changed else " (unchanged)")


# ---- the core -----------------------------------------------------------------------------------


def effective(status: str | None) -> str:
    """A cell without a directory item is active."""
    return status or "active"


def shown(status: str | None) -> str:
    return "active (no item)" if status is None else status


def check_zone_keeps_active(
    cell: str, zone: str, target: str, statuses: Mapping[str, str | None], *, force: bool
) -> None:
    """Refuse to leave `zone` without an active cell.

    `statuses` maps every cell of the zone (from the fleet) to its directory status (None: no item).
    """
    if target == "active" or force or effective(statuses.get(cell)) == target:
        return
    if any(effective(s) == "active" for c, s in statuses.items() if c != cell):
        return
    others = ", ".join(f"{c} ({effective(s)})" for c, s in sorted(statuses.items()) if c != cell) or "none"
    verb = "drain" if target == "draining" else "take down"
    raise Refused(
        f"refusing to {verb} {cell}: it is the last active cell of zone {zone} (other cells: {others}); "
        f"new users of zone {zone} would have no cell. Activate another cell of {zone} first, "
        "or pass --force if the whole zone must stop."
    )


def find_cell(fleet: Fleet, name: str) -> StackSettings:
    """The cell stack by cell name (or by stack name): a UsageError lists the known cells."""
    for s in fleet.cells:
        if s.cell.name == name:
            return s
    for s in fleet.cells:
        if s.stack == name:
            return s
    known = ", ".join(sorted(s.cell.name for s in fleet.cells)) or "none"
    raise UsageError(f"unknown cell {name!r}; cells of the fleet: {known}")


# ---- the shell ----------------------------------------------------------------------------------


def _now(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Conflict(EdgeError):
    """The zone changed between our read and our write: nothing was written."""


@dataclass(frozen=True)
class Snapshot:
    """The zone item's version (0: no item yet) and each cell's status (None: no item), read at once."""

    version: int
    statuses: dict[str, str | None]


class CellDirectory:
    """The global stack's DynamoDB cell directory."""

    def __init__(self, aws: Aws, region: str, table: str) -> None:
        self.aws = aws
        self.region = region
        self.table = table

    @property
    def place(self) -> str:
        return f"directory (DynamoDB {self.table} in {self.region})"

    @classmethod
    def find(cls, aws: Aws, region: str) -> CellDirectory:
        arns = [
            m["ResourceARN"]
            for page in aws.pages(
                "resourcegroupstaggingapi",
                region,
                "get_resources",
                TagFilters=[{"Key": TAG_ROLE, "Values": [DIRECTORY_ROLE]}],
                ResourceTypeFilters=["dynamodb:table"],
            )
            for m in page.get("ResourceTagMappingList", [])
        ]
        if len(arns) != 1:
            raise EdgeError(
                f"expected one DynamoDB table tagged {TAG_ROLE}={DIRECTORY_ROLE} in {region}, found "
                f"{', '.join(arns) or 'none'}. Check that the global stack is deployed in this account and "
                "that myark:global.region names its region."
            )
        return cls(aws, region, arns[0].rsplit("/", 1)[-1])

    def _key(self, pk: str) -> dict[str, Any]:
        return {"TableName": self.table, "Key": {"pk": {"S": pk}}}

    def snapshot(self, zone: str, cells: Sequence[str]) -> Snapshot:
        """The zone's version and its cells' statuses in one TransactGetItems (serializable)."""
        keys = [f"zone#{zone}", *(f"cell#{c}" for c in cells)]
        response = self.aws.call(
            "dynamodb",
            self.region,
            "transact_get_items",
            TransactItems=[{"Get": self._key(k)} for k in keys],
        )
        items = [r.get("Item") or {} for r in response["Responses"]]
        version = int(items[0].get("version", {}).get("N", "0"))
        statuses = {
            c: (i["status"]["S"] if "status" in i else None) for c, i in zip(cells, items[1:], strict=True)
        }
        return Snapshot(version, statuses)

    def statuses(self, cells: Sequence[str]) -> dict[str, str | None]:
        """Each cell's status (None: no item), strongly consistent, in one BatchGetItem per 100 cells."""
        out: dict[str, str | None] = dict.fromkeys(cells)
        for start in range(0, len(cells), 100):
            keys = [{"pk": {"S": f"cell#{c}"}} for c in cells[start : start + 100]]
            while keys:
                response = self.aws.call(
                    "dynamodb",
                    self.region,
                    "batch_get_item",
                    RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}},
                )
                for item in response.get("Responses", {}).get(self.table, []):
                    if "status" in item:
                        out[item["pk"]["S"].removeprefix("cell#")] = item["status"]["S"]
                keys = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return out

    def status(self, cell: str) -> str | None:
        item = self.aws.call(
            "dynamodb", self.region, "get_item", ConsistentRead=True, **self._key(f"cell#{cell}")
        ).get("Item")
        return item["status"]["S"] if item and "status" in item else None

    def write(
        self, cell: str, zone: str, seen: Snapshot, after: str, by: str, now: datetime, change: str
    ) -> None:
        """Set the cell's status and bump the zone's version, in one transaction conditioned on both
        being what `seen` read. Raises Conflict when either moved."""
        before = seen.statuses.get(cell)
        cell_values: dict[str, dict[str, str]] = {
            ":after": {"S": after},
            ":previous": {"S": effective(before)},
            ":zone": {"S": zone},
            ":at": {"S": _now(now)},
            ":by": {"S": by},
        }
        if before is not None:
            cell_values[":before"] = {"S": before}
        zone_values: dict[str, dict[str, str]] = {
            ":next": {"N": str(seen.version + 1)},
            ":at": {"S": _now(now)},
            ":by": {"S": by},
            ":change": {"S": change},
        }
        if seen.version:
            zone_values[":seen"] = {"N": str(seen.version)}
        items = [
            {
                "Update": {
                    **self._key(f"cell#{cell}"),
                    "UpdateExpression": "SET #s = :after, previousStatus = :previous, #z = :zone, "
                    "updatedAt = :at, updatedBy = :by",
                    "ConditionExpression": "attribute_not_exists(#s)" if before is None else "#s = :before",
                    "ExpressionAttributeNames": {"#s": "status", "#z": "zone"},
                    "ExpressionAttributeValues": cell_values,
                }
            },
            {
                "Update": {
                    **self._key(f"zone#{zone}"),
                    "UpdateExpression": "SET #v = :next, updatedAt = :at, updatedBy = :by, lastChange = :change",
                    "ConditionExpression": "#v = :seen" if seen.version else "attribute_not_exists(#v)",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": zone_values,
                }
            },
        ]
        try:
            self.aws.call("dynamodb", self.region, "transact_write_items", TransactItems=items)
        except AwsError as exc:
            # Cancelled: a condition failed (another change got in first), or DynamoDB saw a
            # concurrent transaction on the same items (TransactionConflict inside the reasons).
            if exc.code in ("TransactionCanceledException", "TransactionConflictException"):
                raise Conflict(
                    f"{self.place}: zone {zone} changed while this command ran (a concurrent status change); "
                    "nothing was written."
                ) from None
            raise


def caller(aws: Aws, region: str) -> str:
    """Who is acting, for `updatedBy`: the caller's ARN (sts:GetCallerIdentity needs no permission)."""
    return aws.call("sts", region, "get_caller_identity")["Arn"]


def sync_edge(directory: CellDirectory, cell: str, edge_of: EdgeFactory) -> Change:
    """Make the cell's edge say what the directory says, however other commands interleave.

    Returns the edge's state before and after (unchanged when it already agreed)."""
    first: str | None = None
    place = ""
    for attempt in range(EDGE_ATTEMPTS):
        status = effective(directory.status(cell))
        edge = edge_of(cell)
        before, after = edge.state(), edge.state_for(status)
        first = before if first is None else first
        if before != after:
            try:
                edge.set(status)
            except EdgeConflict:
                _backoff(attempt)
                continue
        place = edge.place
        if effective(directory.status(cell)) == status:
            return Change(place, first, after)
        _backoff(attempt)
    raise EdgeError(
        f"edge of {cell}: the directory kept changing while this command wrote the edge "
        f"({EDGE_ATTEMPTS} attempts); re-run `cells reconcile {cell}` when the other commands are done."
    )


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * (2 ** min(attempt, 5))))


@dataclass(frozen=True)
class Outcome:
    """What a command changed: its own cell's directory and edge, and other cells' edges it repaired."""

    directory: Change
    edge: Change
    repaired: tuple[tuple[str, Change], ...] = ()
    unchecked: tuple[str, ...] = ()  # other cells whose edge could not be checked, and why

    @property
    def changes(self) -> list[Change]:
        return [self.directory, self.edge]


def change_status(
    aws: Aws,
    fleet: Fleet,
    settings: StackSettings,
    target: str,
    edge_of: EdgeFactory,
    *,
    force: bool = False,
    now: datetime | None = None,
    command: str = "",
) -> Outcome:
    """Set the cell's status in the directory (one transaction over the cell and its zone), then make
    every cell's edge follow the directory. Returns what changed."""
    cell, zone = settings.cell.name, settings.cell.zone
    region = fleet.global_stack.config.global_spec.region
    directory = CellDirectory.find(aws, region)
    zone_cells = [s.cell.name for s in fleet.cells_in_zone(zone)]
    edge_of(cell).state()  # the edge is reachable (token, namespace, health check) before any write
    by = None
    for attempt in range(ATTEMPTS):
        seen = directory.snapshot(zone, zone_cells)
        before = seen.statuses.get(cell)
        check_zone_keeps_active(cell, zone, target, seen.statuses, force=force)
        dir_change = Change(
            directory.place, shown(before), target if effective(before) != target else shown(before)
        )
        if not dir_change.changed:
            break
        by = by or caller(aws, region)
        try:
            directory.write(
                cell, zone, seen, target, by, now or datetime.now(UTC), f"{command or target} {cell}"
            )
            break
        except Conflict:
            _backoff(attempt)
    else:
        raise EdgeError(
            f"{directory.place}: zone {zone} kept changing under this command ({ATTEMPTS} attempts, other "
            "status changes got in first); nothing was written. Re-run it."
        )
    try:
        edge = sync_edge(directory, cell, edge_of)
    except (AwsError, EdgeError) as exc:
        if not dir_change.changed:
            raise
        raise EdgeError(
            f"{dir_change.line()}, but the edge was not updated: {exc} Re-run the command to finish "
            f"(or `cells reconcile {cell}`): it changes only what is not yet in place."
        ) from None
    # Repair what earlier commands left behind, best effort: another cell's broken edge (a stack not
    # deployed yet, a check deleted) is reported, never a reason to fail this cell's command.
    repaired: list[tuple[str, Change]] = []
    unchecked: list[str] = []
    for other in (c for c in all_cells(fleet) if c != cell):
        try:
            repaired += [(o, ch) for o, ch in reconcile_edges(directory, [other], edge_of) if ch.changed]
        except (AwsError, EdgeError) as exc:
            unchecked.append(f"{other}: {exc}")
    return Outcome(dir_change, edge, tuple(repaired), tuple(unchecked))


def all_cells(fleet: Fleet) -> list[str]:
    return [s.cell.name for s in fleet.cells]


def reconcile_edges(
    directory: CellDirectory, cells: Sequence[str], edge_of: EdgeFactory
) -> list[tuple[str, Change]]:
    """Every listed cell's edge made to follow the directory: (cell, change) per cell.

    One read of the directory, one of each edge; the full loop of `sync_edge` only where they differ
    (where they agree, any later change is synced by the command that makes it)."""
    statuses = directory.statuses(cells)
    out = []
    for cell in cells:
        edge = edge_of(cell)
        state = edge.state()
        if state == edge.state_for(effective(statuses[cell])):
            out.append((cell, Change(edge.place, state, state)))
        else:
            out.append((cell, sync_edge(directory, cell, edge_of)))
    return out


@dataclass(frozen=True)
class ZoneReport:
    zone: str
    version: int
    statuses: dict[str, str | None]
    edges: list[tuple[str, Change]]

    @property
    def active(self) -> list[str]:
        return [c for c, s in self.statuses.items() if effective(s) == "active"]

    @property
    def drift(self) -> list[tuple[str, Change]]:
        return [(c, ch) for c, ch in self.edges if ch.changed]


def reconcile(aws: Aws, fleet: Fleet, zone: str, cells: Sequence[str], edge_of: EdgeFactory) -> ZoneReport:
    """Repair the edge of `cells` (of `zone`) from the directory and report the zone's state."""
    directory = CellDirectory.find(aws, fleet.global_stack.config.global_spec.region)
    seen = directory.snapshot(zone, [s.cell.name for s in fleet.cells_in_zone(zone)])
    return ZoneReport(zone, seen.version, seen.statuses, reconcile_edges(directory, cells, edge_of))
