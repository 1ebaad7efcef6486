"""Deployment waves, from the fleet config: global first, then the pilot cells, then the rest.

Adding a cell is a new stack file; its wave follows from `pilot:` in it, so no workflow changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cells.core.fleet import Fleet

# How long a wave's cells must stay healthy before the next wave starts.
BAKE_MINUTES = {"global": 10, "pilot": 30, "rest": 0}


@dataclass(frozen=True)
class Wave:
    name: str
    stacks: list[str]
    bake_minutes: int


def waves(fleet: Fleet) -> list[Wave]:
    pilot = sorted(s.stack for s in fleet.cells if s.cell.pilot)
    rest = sorted(s.stack for s in fleet.cells if not s.cell.pilot)
    found = [
        Wave("global", [fleet.global_stack.stack], BAKE_MINUTES["global"]),
        Wave("pilot", pilot, BAKE_MINUTES["pilot"]),
        Wave("rest", rest, BAKE_MINUTES["rest"]),
    ]
    return [w for w in found if w.stacks]
