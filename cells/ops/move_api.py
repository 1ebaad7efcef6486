"""How the API sees moves: placement, and the read and write paths that honour a freeze.

This is the small library the cell's API calls (and the tests use as "the API"):
- `place_user`: a new user's home, by the zone's placement weights, never into a full cell; the
  cell's user counter moves in the same DynamoDB transaction as the home item.
- `write`: refused with `RetryableWrite` (HTTP 503 + Retry-After for the client) while the user is
  frozen, and, after a flip, by the old shard (`moved_to` tells the client to refresh its token and
  retry). The check is a Firestore transaction that reads the user's fence document in the same
  database it writes to, so a write either commits before the freeze (and the copy, which starts
  after the freeze, carries it) or sees the fence and is refused: never dropped.
- `read`: goes on during a freeze; after a flip the old shard answers `RetryableWrite(moved_to=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cells.core.fleet import Fleet
from cells.core.sharding.shard_map import ShardMap
from cells.ops.move_plan import MoveRefused, rebalance_bucket, utilization
from cells.ops.move_stores import FENCES, Conflict, FirestoreFactory, MoveDirectory, RetryableWrite

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class CellInfo:
    """What moves and placement need of a cell (from its stack file)."""

    name: str
    zone: str
    region: str
    shards: ShardMap
    max_users: int
    max_tenants: int


def cell_infos(fleet: Fleet) -> dict[str, CellInfo]:
    """Every cell of the fleet, from its stack file."""
    return {
        s.cell.name: CellInfo(
            s.cell.name,
            s.cell.zone,
            s.cell.region,
            s.cell.shards,
            s.cell.capacity.max_users,
            s.cell.capacity.max_tenants,
        )
        for s in fleet.cells
    }


def database_of(directory: MoveDirectory, cell: CellInfo, user: str) -> str:
    """The user's shard database: a moved logical shard's directory override, else the cell's map."""
    logical = cell.shards.logical_of(user)
    override = directory.get(f"shard#{cell.name}#{logical}")
    return override["database"] if override and "database" in override else cell.shards.lookup(user)


def choose_cell(user: str, weights: Mapping[str, int], full: set[str]) -> str | None:
    """Sticky per user: the user's stable bucket picks a cell by weight, skipping full cells."""
    usable = {c: w for c, w in sorted(weights.items()) if w > 0 and c not in full}
    total = sum(usable.values())
    if not total:
        return None
    point = rebalance_bucket(user) * total // 10_000
    for cell, weight in usable.items():
        if point < weight:
            return cell
        point -= weight
    return next(reversed(usable))


def place_user(
    directory: MoveDirectory,
    cells: Mapping[str, CellInfo],
    user: str,
    zone: str,
    weights: Mapping[str, int],
    *,
    tenant: str | None = None,
    publish: Callable[[str, float], None] | None = None,
) -> str:
    """Home a new user in a cell of `zone` with room; refuse (MoveRefused) when every cell is full."""
    existing = directory.get(f"user#{user}")
    if existing:
        return existing["cell"]
    full: set[str] = set()
    while True:
        cell = choose_cell(user, weights, full)
        if cell is None:
            raise MoveRefused(f"no cell of zone {zone} has room for user {user}: every cell is at capacity")
        info = cells[cell]
        if info.zone != zone:
            raise MoveRefused(f"placement weights of zone {zone} name {cell}, a cell of zone {info.zone}")
        sets = {"cell": cell, "zone": zone, **({"tenant": tenant} if tenant else {})}
        item = {k: {"S": v} for k, v in sets.items()}
        try:
            directory.transact(
                [
                    {
                        "TableName": directory.table,
                        "Key": {"pk": {"S": f"user#{user}"}},
                        "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in sets),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ExpressionAttributeNames": {f"#{k}": k for k in sets},
                        "ExpressionAttributeValues": {f":{k}": v for k, v in item.items()},
                    },
                    {
                        "TableName": directory.table,
                        "Key": {"pk": {"S": f"count#{cell}"}},
                        "UpdateExpression": "ADD #u :one",
                        "ConditionExpression": "attribute_not_exists(#u) OR #u < :max",
                        "ExpressionAttributeNames": {"#u": "users"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(info.max_users)}},
                    },
                ]
            )
        except Conflict:
            again = directory.get(f"user#{user}")
            if again:  # placed concurrently: sticky
                return again["cell"]
            full.add(cell)
            continue
        if publish:
            count = directory.count(cell)
            publish(cell, utilization(count["users"], info.max_users, count["tenants"], info.max_tenants))
        return cell


class Api:
    """The API's data path for one user's documents (paths below users/<id>/)."""

    def __init__(
        self,
        directory: MoveDirectory,
        firestore: FirestoreFactory,
        cells: Mapping[str, CellInfo],
        transactional: Callable[[Callable[..., Any]], Callable[..., Any]],
    ) -> None:
        self.directory = directory
        self.firestore = firestore
        self.cells = cells
        self.transactional = transactional  # google.cloud.firestore.transactional (or the fake's)

    def _home(self, user: str) -> tuple[dict[str, Any], Any]:
        home = self.directory.get(f"user#{user}")
        if not home:
            raise KeyError(f"user {user} has no home in the directory")
        cell = self.cells[home["cell"]]
        return home, self.firestore(cell.name, database_of(self.directory, cell, user))

    def _fences(self, client: Any, user: str) -> list[Any]:
        logical = None
        home = self.directory.get(f"user#{user}")
        if home:
            logical = self.cells[home["cell"]].shards.logical_of(user)
        names = [f"user-{user}"] + ([f"shard-{logical}"] if logical is not None else [])
        return [client.collection(FENCES).document(n) for n in names]

    def write(self, user: str, path: str, data: Mapping[str, Any]) -> str:
        """Write one document; returns the cell that took it. Raises RetryableWrite, never drops."""
        home, client = self._home(user)
        if home.get("frozen"):
            raise RetryableWrite(f"user {user} is being moved; retry", RETRY_AFTER_SECONDS)
        ref = client.document(f"users/{user}/{path}")
        fences = self._fences(client, user)

        def attempt(transaction: Any) -> None:
            for fence in fences:
                snap = fence.get(transaction=transaction)
                if snap.exists:
                    state = snap.to_dict() or {}
                    raise RetryableWrite(
                        f"user {user}'s shard is {state.get('state', 'frozen')}; retry",
                        RETRY_AFTER_SECONDS,
                        state.get("to"),
                    )
            transaction.set(ref, dict(data))

        self.transactional(attempt)(client.transaction())
        return home["cell"]

    def read(self, user: str, path: str) -> dict[str, Any] | None:
        _, client = self._home(user)
        for fence in self._fences(client, user):
            snap = fence.get()
            if snap.exists and (snap.to_dict() or {}).get("state") == "moved":
                to = (snap.to_dict() or {}).get("to")
                raise RetryableWrite(f"user {user} moved to {to}; refresh the token", 0, to)
        snap = client.document(f"users/{user}/{path}").get()
        return snap.to_dict() if snap.exists else None
