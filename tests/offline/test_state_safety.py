"""A refactor that would replace a stateful resource fails here, with the fix in the message."""

from __future__ import annotations

import pytest

from cells.offline.plan import Plan, PlannedResource
from cells.offline.state_safety import STATEFUL_TYPES, compare, read_committed, stateful_urns


@pytest.mark.parametrize("stack", ["global", "eu-central-1", "us-east-1"])
def test_stateful_urns_match_the_committed_list(plan_of, stack: str) -> None:
    drift = compare(plan_of(stack), read_committed())
    assert drift.ok, drift.message()


def _plan(*resources: PlannedResource) -> Plan:
    return Plan(project="p", stack="s", resources=list(resources), outputs={})


def _bucket(name: str, aliases: tuple[str, ...] = ()) -> PlannedResource:
    urn = f"urn:pulumi:s::p::aws:s3/bucket:Bucket::{name}"
    return PlannedResource(
        urn=urn,
        type="aws:s3/bucket:Bucket",
        name=name,
        parent=None,
        provider=None,
        region="eu-central-1",
        protect=True,
        retain_on_delete=True,
        inputs={},
        custom=True,
        aliases=aliases,
    )


def test_a_renamed_bucket_without_alias_is_caught_with_the_fix() -> None:
    committed = {"s": [_bucket("docs").urn]}
    drift = compare(_plan(_bucket("documents")), committed)
    assert drift.missing == [_bucket("docs").urn]
    assert "pulumi.Alias(name=<old name>" in drift.message()
    assert drift.new == [_bucket("documents").urn]


def test_a_renamed_bucket_with_alias_is_safe() -> None:
    committed = {"s": [_bucket("docs").urn]}
    renamed = _bucket("documents", aliases=(_bucket("docs").urn,))
    drift = compare(_plan(renamed), {"s": [*committed["s"], renamed.urn]})
    assert drift.ok


def test_stateful_types_cover_what_the_cells_keep(plan_of) -> None:
    kept = {r.type for r in plan_of("eu-central-1").resources if r.protect}
    assert kept <= STATEFUL_TYPES
    assert stateful_urns(plan_of("eu-central-1"))
