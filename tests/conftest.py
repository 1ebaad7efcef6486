"""Shared fixtures: offline plans of the real stacks, recorded once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from cells.config import PROJECT_ROOT, list_stacks
from cells.plan import Plan, record_plan

# A shared 2-core machine can stall any single example; the properties are exact, not timed.
settings.register_profile("myark", deadline=None)
settings.load_profile("myark")

_PLANS: dict[str, Plan] = {}


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], Plan]:
    """The recorded offline plan of a stack of this repo (each stack planned once per session)."""

    def get(stack: str) -> Plan:
        if stack not in _PLANS:
            _PLANS[stack] = record_plan(stack)
        return _PLANS[stack]

    return get


@pytest.fixture(scope="session")
def stacks() -> list[str]:
    return list_stacks(PROJECT_ROOT)


@pytest.fixture()
def fleet_copy(tmp_path: Path) -> Path:
    """A writable copy of the project's stack files, to break one on purpose."""
    for f in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path
