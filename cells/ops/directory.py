"""Drain, activate or take down a cell: its status in the cell directory and at the edge.

Two places hold a cell's status and both are written, directory first:
- the global stack's DynamoDB cell directory (tagged `myark:role=cell-directory`, in the global
  region): item `cell#<name>` with `status`, `zone`, `updatedAt`, `updatedBy`, and `previousStatus`.
  The write is conditional on the status read a moment before, so two operators cannot race;
- the edge (see `cells.ops.edge`).

A second run with the same target changes nothing and reports "unchanged" for both places, so a run
that failed half-way is finished by running it again.

Safety rule: a zone keeps at least one active cell. Draining or downing a cell whose directory
status would change, while no other cell of its zone (from the fleet's stack files) is active, is
refused unless forced. A cell missing from the directory counts as active (the edge's rule too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cells.config import ConfigError, StackSettings
from cells.fleet import Fleet
from cells.naming import TAG_ROLE
from cells.ops.aws import Aws, AwsError
from cells.ops.edge import Edge, EdgeError

STATUSES = ("active", "draining", "down")
# command -> the status it sets
TARGETS = {"drain": "draining", "activate": "active", "down": "down"}
DIRECTORY_ROLE = "cell-directory"


class Refused(ConfigError):
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
    """The cell stack by cell name (or by stack name): a ConfigError lists the known cells."""
    for s in fleet.cells:
        if s.cell.name == name:
            return s
    for s in fleet.cells:
        if s.stack == name:
            return s
    known = ", ".join(sorted(s.cell.name for s in fleet.cells)) or "none"
    raise ConfigError(f"unknown cell {name!r}; cells of the fleet: {known}")


# ---- the shell ----------------------------------------------------------------------------------


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

    def statuses(self, cells: Sequence[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for cell in cells:
            item = self.aws.call(
                "dynamodb",
                self.region,
                "get_item",
                TableName=self.table,
                Key={"pk": {"S": f"cell#{cell}"}},
                ConsistentRead=True,
            ).get("Item")
            out[cell] = item["status"]["S"] if item and "status" in item else None
        return out

    def write(self, cell: str, zone: str, before: str | None, after: str, by: str, now: datetime) -> None:
        """Set the status, on condition that it is still `before` (None: no item, or no status yet)."""
        condition = "attribute_not_exists(#s)" if before is None else "#s = :before"
        values = {
            ":after": {"S": after},
            ":previous": {"S": effective(before)},
            ":zone": {"S": zone},
            ":at": {"S": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")},
            ":by": {"S": by},
        }
        if before is not None:
            values[":before"] = {"S": before}
        try:
            self.aws.call(
                "dynamodb",
                self.region,
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": f"cell#{cell}"}},
                UpdateExpression="SET #s = :after, previousStatus = :previous, #z = :zone, "
                "updatedAt = :at, updatedBy = :by",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", "#z": "zone"},
                ExpressionAttributeValues=values,
            )
        except AwsError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise EdgeError(
                    f"{self.place}: cell#{cell} changed while this command ran (it was {shown(before)}); "
                    "nothing was written. Re-run to act on its new status."
                ) from None
            raise


def caller(aws: Aws, region: str) -> str:
    """Who is acting, for `updatedBy`: the caller's ARN (sts:GetCallerIdentity needs no permission)."""
    return aws.call("sts", region, "get_caller_identity")["Arn"]


def change_status(
    aws: Aws,
    fleet: Fleet,
    settings: StackSettings,
    target: str,
    edge: Edge,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> list[Change]:
    """Set the cell's status in the directory, then at the edge. Returns what changed, place by place."""
    cell, zone = settings.cell.name, settings.cell.zone
    region = fleet.global_stack.config.global_spec.region
    directory = CellDirectory.find(aws, region)
    statuses = directory.statuses([s.cell.name for s in fleet.cells_in_zone(zone)])
    before = statuses.get(cell)
    check_zone_keeps_active(cell, zone, target, statuses, force=force)
    edge_change = Change(edge.place, edge.state(), edge.state_for(target))
    dir_change = Change(
        directory.place, shown(before), target if effective(before) != target else shown(before)
    )
    if dir_change.changed:
        directory.write(cell, zone, before, target, caller(aws, region), now or datetime.now(UTC))
    if edge_change.changed:
        try:
            edge.set(target)
        except (AwsError, EdgeError) as exc:
            if not dir_change.changed:
                raise
            raise EdgeError(
                f"{dir_change.line()}, but the edge was not updated: {exc} Re-run the command to finish: "
                "it changes only what is not yet in place."
            ) from None
    # The edge's place may name the resource only once it has been read (Route53: the check's id).
    return [dir_change, Change(edge.place, edge_change.before, edge_change.after)]
