"""Shared fixtures: offline plans of the real stacks, recorded once per test session."""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from cells.core.config.stack_files import PROJECT_ROOT, list_stacks
from cells.offline.plan import Plan, record_plan

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


# `./dev check` runs the tests that need no plan, no cloud emulator and no other process: everything
# not marked `slow` here. A test is slow if it (or a fixture it asks for) plans a stack, runs a
# subprocess (the CLI, node, workerd, actionlint) or talks to moto.
_SLOW_SOURCE = re.compile(
    r"record_plan|plan_of|_plans\b|cloudflare_fleet|\"plan\"|subprocess|mock_aws|moto|boto3|node\b|"
    r"miniflare|workerd|actionlint|checkov|parliament|\brun\(|\bmain\(|env\b"
)
_SLOW_MODULE_NAMES = {"record_plan", "moto", "boto3", "mock_aws", "subprocess", "Env", "route53_model"}


def _slow(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    module = getattr(item, "module", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        source = ""
    names = set(vars(module)) if module is not None else set()
    return (
        bool(_SLOW_SOURCE.search(source))
        or bool(names & _SLOW_MODULE_NAMES)
        or "plan_of" in getattr(item, "fixturenames", ())
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _slow(item):
            item.add_marker(pytest.mark.slow)
