"""The rebalance planner (cells/core/sharding/rebalance.py)."""

from __future__ import annotations

import pytest
from shard_support import shard_map

from cells.core.sharding import rebalance
from cells.core.sharding.rebalance import (
    DEFAULT_SAMPLE_SIZE,
    Move,
    TenantMove,
    plan_rebalance,
    sample_user_ids,
)


def test_plan_lists_logical_shards_moving_between_physical_shards():
    current = shard_map(16)
    proposed = shard_map(16, {"shard-a": "0-4", "shard-b": "8-15", "shard-c": "5-7"})
    plan = plan_rebalance(current, proposed)
    assert plan.logical_change is None
    assert plan.moves == [
        Move(5, "shard-a", "shard-c"),
        Move(6, "shard-a", "shard-c"),
        Move(7, "shard-a", "shard-c"),
    ]
    assert plan.optimal_fraction == 0.0
    assert plan.expected_physical_fraction == 3 / 16
    assert plan.physical_added == ["shard-c"] and plan.physical_removed == []
    assert plan.sample_size == 0 and plan.physical_moved_fraction is None


def test_plan_with_sample_ids_measures_exactly_the_keys_of_moved_shards():
    current = shard_map(16)
    proposed = shard_map(16, {"shard-a": "0-4", "shard-b": "8-15", "shard-c": "5-7"})
    ids = [f"user-{i}" for i in range(2_000)]
    plan = plan_rebalance(current, proposed, ids)
    in_moved = sum(current.logical_of(i) in (5, 6, 7) for i in ids)
    assert plan.sample_size == 2_000
    assert plan.logical_moved_fraction == 0.0
    assert plan.physical_moved_fraction == in_moved / 2_000


def test_plan_for_a_growing_logical_count_measures_against_the_optimum():
    current = shard_map(16, {"shard-a": "0-7", "shard-b": "8-15"})
    proposed = shard_map(32, {"shard-a": "0-7,16-23", "shard-b": "8-15,24-31"})
    plan = plan_rebalance(current, proposed, (f"user-{i}" for i in range(20_000)))
    assert plan.logical_change == (16, 32)
    assert plan.moves == []
    assert plan.optimal_fraction == 0.5
    assert plan.logical_moved_fraction is not None and plan.physical_moved_fraction is not None
    assert abs(plan.logical_moved_fraction - 0.5) < 0.01
    # Keys moving to 16..31 come uniformly from 0..15, so half of those change physical shard.
    assert plan.expected_physical_fraction == 0.25
    assert abs(plan.physical_moved_fraction - 0.25) < 0.01


def test_plan_for_a_shrinking_logical_count_uses_the_shrinking_optimum():
    plan = plan_rebalance(shard_map(32), shard_map(20), (f"user-{i}" for i in range(5_000)))
    assert plan.logical_change == (32, 20)
    assert plan.optimal_fraction == 12 / 32
    assert plan.logical_moved_fraction is not None
    assert abs(plan.logical_moved_fraction - 12 / 32) < 0.02


def test_the_default_sample_is_100k_synthetic_ids():
    ids = list(sample_user_ids())
    assert len(ids) == DEFAULT_SAMPLE_SIZE == 100_000
    assert ids[:2] == ["user-0", "user-1"] and ids[-1] == "user-99999"


def test_plan_measures_the_default_sample_when_the_logical_count_changes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(rebalance, "DEFAULT_SAMPLE_SIZE", 5_000)  # the full 100k takes seconds
    current, proposed = shard_map(10), shard_map(11, {"shard-a": "0-4", "shard-b": "5-10"})
    plan = plan_rebalance(current, proposed)
    assert plan == plan_rebalance(current, proposed, [f"user-{i}" for i in range(5_000)])
    assert plan.sample_size == 5_000
    assert plan.optimal_fraction == 1 - 10 / 11
    assert plan.logical_moved_fraction is not None
    assert abs(plan.logical_moved_fraction - plan.optimal_fraction) < 0.01


def test_plan_lists_tenant_moves_additions_removals_and_key_changes():
    current = shard_map(
        tenants={
            "acme": {"physical": "tenant-acme"},
            "globex": {"physical": "tenant-globex"},
            "initech": {"physical": "tenant-initech", "dedicatedKmsKey": False},
        }
    )
    proposed = shard_map(
        tenants={
            "acme": {"physical": "tenant-acme-2"},
            "initech": {"physical": "tenant-initech", "dedicatedKmsKey": True},
            "umbrella": {"physical": "tenant-umbrella"},
        }
    )
    plan = plan_rebalance(current, proposed)
    assert plan.tenant_moves == [TenantMove("acme", "tenant-acme", "tenant-acme-2")]
    assert plan.tenants_added == {"umbrella": "tenant-umbrella"}
    assert plan.tenants_removed == {"globex": "tenant-globex"}
    assert plan.tenant_kms_changes == {"initech": True}
    assert plan.physical_added == ["tenant-acme-2", "tenant-umbrella"]
    assert plan.physical_removed == ["tenant-acme", "tenant-globex"]
    assert plan.moves == [] and plan.expected_physical_fraction == 0.0


def test_plan_renders_what_a_person_must_do():
    current = shard_map(16, tenants={"acme": {"physical": "tenant-acme"}})
    proposed = shard_map(
        16, {"shard-a": "0-6", "shard-b": "7-15"}, tenants={"acme": {"physical": "tenant-acme-eu"}}
    )
    assert plan_rebalance(current, proposed).render() == "\n".join(
        [
            "Logical shards changing physical shard: 1 (6.25% of consumer keys); no other key moves.",
            "  logical 7: shard-a -> shard-b",
            "Physical shards to create first: tenant-acme-eu",
            "Physical shards left empty (retire after the copy): tenant-acme",
            "Tenants:",
            "  move acme: tenant-acme -> tenant-acme-eu",
        ]
    )


def test_plan_renders_a_logical_count_change_with_measurements():
    text = plan_rebalance(shard_map(16), shard_map(32), (f"user-{i}" for i in range(1_000))).render()
    assert text.startswith("Logical shard count changes 16 -> 32: every consumer key is re-hashed")
    assert "keys changing logical shard: optimal 50.00%, measured " in text
    assert "of 1000 sample ids" in text


def test_an_unchanged_map_plans_nothing():
    plan = plan_rebalance(shard_map(16), shard_map(16))
    assert plan.is_empty
    assert plan.render() == "Shard map unchanged: no keys move."


def test_plans_are_deterministic():
    current, proposed = shard_map(12), shard_map(13, {"shard-a": "0-5", "shard-b": "6-12"})
    ids = [f"user-{i}" for i in range(3_000)]
    assert plan_rebalance(current, proposed, ids) == plan_rebalance(current, proposed, iter(ids))
