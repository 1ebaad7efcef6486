"""Moves of users, tenants and logical shards: the decisions, on plain data (no cloud SDK).

What may move where (residency, capacity), which users a rebalance takes, the journal's states and
what a dry run reports, and the move's two failures (`MoveRefused`, `MoveFailed`). `cells.ops.move` runs
the state machine against the stores.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cells.core.errors import Refusal

# The journal's states, in order. A move is resumable from any of them; `done` waits for cleanup.
STATES = ("planned", "frozen", "copied", "verified", "flipped", "done", "cleaned")
KINDS = ("user", "tenant", "shard")
# A lease older than this may be taken over by a re-run (the previous runner crashed or hangs).
LEASE_SECONDS = 120
# Cleanup waits at least this long after the flip: ID tokens (60 min) still name the old cell.
MIN_GRACE_HOURS = 1
DEFAULT_GRACE_HOURS = 24
ALARM_PERCENT = 80


class MoveRefused(Refusal):
    """A move that must not happen (residency, capacity, another move in flight): exit 2, nothing changed."""


class MoveFailed(Exception):
    """The move stopped (verification mismatch, a store error): the journal says where; re-run."""


def state_index(state: str) -> int:
    return STATES.index(state)


def journal_key(kind: str, subject: str) -> str:
    return f"move#{kind}#{subject}"


def check_residency(kind: str, subject: str, subject_zone: str, target: str, target_zone: str) -> None:
    """A move stays in the subject's zone or goes into it (an EU user from us-east-1 into eu-central-1)."""
    if subject_zone != target_zone:
        raise MoveRefused(
            f"refusing to move {kind} {subject} to {target}: its residency zone is {subject_zone} and "
            f"{target} is in zone {target_zone}; a {kind} may only move to a cell of zone {subject_zone}"
        )


def check_capacity(kind: str, target: str, homed: int, maximum: int) -> None:
    if homed >= maximum:
        what = "users" if kind == "user" else "tenants"
        raise MoveRefused(
            f"refusing to move {kind}s into {target}: it holds {homed} {what} of its capacity {maximum} "
            f"(myark:cell.capacity.max{what.capitalize()}); raise the capacity or pick another cell"
        )


def utilization(users: int, max_users: int, tenants: int, max_tenants: int) -> float:
    """Percent of the cell's capacity in use: the fuller of users and tenants."""
    user_share = users / max_users
    tenant_share = tenants / max_tenants if max_tenants else 0.0
    return round(100.0 * max(user_share, tenant_share), 3)


def rebalance_bucket(user_id: str) -> int:
    """A stable number in [0, 10000) per user: a rebalance of P % takes the users below P * 100.

    Salted apart from the shard key so that a slice is not a set of logical shards; growing the share
    only adds users, so re-running with the same share selects the same users.
    """
    digest = hashlib.sha256(b"myark-rebalance\x00" + user_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def rebalance_slice(homes: Iterable[Mapping[str, str]], source: str, zone: str, share: float) -> list[str]:
    """Users homed in `source` whose residency zone is `zone`, the deterministic `share` percent of them."""
    if not 0 < share <= 100:
        raise MoveRefused(f"--share {share}: give a percent in (0, 100], e.g. 5")
    limit = round(share * 100)
    return sorted(
        h["user"]
        for h in homes
        if h.get("cell") == source and h.get("zone") == zone and rebalance_bucket(h["user"]) < limit
    )


def parse_share(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise MoveRefused(f"--share {text!r}: not a percent; give a number in (0, 100], e.g. 5") from None
    if not 0 < value <= 100:
        raise MoveRefused(f"--share {text!r}: give a percent in (0, 100], e.g. 5")
    return value


# ---- content checksums ----------------------------------------------------------------------------


def canonical(value: Any) -> str:
    """One text per value, whatever the key order: the basis of every checksum."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(row).encode("utf-8")).hexdigest()


def documents_checksum(docs: Mapping[str, Mapping[str, Any]]) -> str:
    h = hashlib.sha256()
    for path in sorted(docs):
        h.update(path.encode("utf-8") + b"\x00" + canonical(docs[path]).encode("utf-8") + b"\x01")
    return h.hexdigest()


def objects_checksum(objects: Mapping[str, str]) -> str:
    """`objects` maps key -> SHA-256 of the object's bytes."""
    h = hashlib.sha256()
    for key in sorted(objects):
        h.update(key.encode("utf-8") + b"\x00" + objects[key].encode("ascii") + b"\x01")
    return h.hexdigest()


def rows_checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    """Order-free over a multiset of rows: a duplicated row changes it."""
    counts = Counter(row_hash(r) for r in rows)
    return hashlib.sha256(canonical(sorted(counts.items())).encode("utf-8")).hexdigest()


# ---- what a dry run reports -----------------------------------------------------------------------


@dataclass
class Volume:
    """What moves: a dry run's answer, and what the copy counted."""

    users: int = 0
    documents: int = 0
    objects: int = 0
    rows: int = 0
    bytes: int = 0

    def add(self, other: Volume) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def line(self) -> str:
        return (
            f"{self.users} users, {self.documents} documents, {self.objects} objects, {self.rows} rows, "
            f"{human_bytes(self.bytes)}"
        )


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@dataclass
class MovePlan:
    """One move as the operator asked for it, checked: source, target, zone, what would move."""

    kind: str
    subject: str
    source: str
    target: str
    zone: str
    source_database: str
    target_database: str
    volume: Volume = field(default_factory=Volume)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["volume"] = asdict(self.volume)
        return out

    def line(self) -> str:
        where = (
            f"{self.source} ({self.source_database}) -> {self.target} ({self.target_database})"
            if self.source == self.target
            else f"{self.source} -> {self.target}"
        )
        return f"move {self.kind} {self.subject}: {where}, zone {self.zone}: {self.volume.line()}"
