"""The journal of a move and the lease on it: only the runner holding the lease advances the journal.

The journal is the item `move#<kind>#<id>` in the control plane's directory. A runner takes the lease
(`owner`, `leaseUntil`) when it starts or resumes a move, renews it at every step and batch, and advances
the state by conditional writes; a second runner refuses while the lease lives and takes over once it
has expired (the first crashed). An orderly failure hands the lease back.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from cells.ops.move_plan import (
    LEASE_SECONDS,
    MoveFailed,
    MovePlan,
    MoveRefused,
    check_capacity,
    journal_key,
    state_index,
)
from cells.ops.move_stores import Conflict
from cells.ops.move_world import World


class Lease:
    """One runner's hold on move journals: `acquire` a move's journal, then `renew` and `advance` it."""

    def __init__(self, world: World, owner: str) -> None:
        self.world = world
        self.owner = owner

    def _now(self) -> float:
        return self.world.clock()

    def _key(self, plan: MovePlan) -> str:
        return journal_key(plan.kind, plan.subject)

    def renew(self, key: str, extra: Mapping[str, Any] | None = None) -> None:
        try:
            self.world.directory.update(
                key,
                {"leaseUntil": self._now() + LEASE_SECONDS, "updatedAt": self._now(), **(extra or {})},
                condition="#owner = :me",
                values={":me": self.owner},
            )
        except Conflict:
            raise MoveFailed(f"{key}: another runner took the move over; this one stops") from None

    def advance(self, key: str, before: str, after: str, extra: Mapping[str, Any] | None = None) -> None:
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

    def acquire(self, plan: MovePlan) -> dict[str, Any]:
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

    def release(self, key: str) -> None:
        """Hand the lease back (an orderly failure, or Ctrl-C) so that a re-run need not wait for it."""
        with contextlib.suppress(Exception):
            self.world.directory.update(
                key, {"leaseUntil": 0}, condition="#owner = :me", values={":me": self.owner}
            )


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


def in_flight(journal: Mapping[str, Any]) -> bool:
    return state_index(journal.get("state", "planned")) < state_index("done")
