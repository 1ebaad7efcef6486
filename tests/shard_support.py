"""Shared by the sharding tests: a valid shard map to start from."""

from __future__ import annotations

from typing import Any

from cells.core.sharding.shard_map import ShardMap


def shard_map(
    logical: int = 16, physical: dict[str, str] | None = None, tenants: dict[str, Any] | None = None
) -> ShardMap:
    """A valid map; by default the logical shards split in halves over shard-a and shard-b."""
    halves = {"shard-a": f"0-{logical // 2 - 1}", "shard-b": f"{logical // 2}-{logical - 1}"}
    return ShardMap.model_validate(
        {"logical": logical, "physical": physical or halves, "tenants": tenants or {}}
    )
