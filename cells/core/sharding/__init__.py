"""Consumer and tenant sharding: UserID -> logical shard -> physical shard (a Firestore database).

Pure Python with no Pulumi, so the API imports it as it is. Services in other languages prove they
agree by recomputing `cells/core/shard_vectors.json` (`python -m cells shard-vectors` writes it).

The algorithm is fixed forever, since changing any step moves almost every key:

    key     = SHA-256(UTF-8 bytes of the UserID)[0:8], read as a big-endian unsigned 64-bit int
    logical = jump_hash(key, logical count)   # Lamping & Veach 2014, the paper's C++, bit for bit
    shard   = the physical shard whose range string lists `logical`

Enterprise tenants skip the hash: a known TenantID maps to its own dedicated physical shard.

The modules: `key` (the key and the jump hash), `ranges` (range strings), `shard_map` (the validated
map, tenants, lookups), `rebalance` (the planner), `vectors` (test vectors), `errors`. This package
re-exports their public API for code outside the repo (the API imports `cells.core.sharding`);
code inside the repo imports from the modules.
"""

from __future__ import annotations

from cells.core.sharding.errors import InvalidUserIdError, ShardMapError, UnknownTenantError
from cells.core.sharding.key import ALGORITHM, jump_hash, shard_key
from cells.core.sharding.ranges import format_ranges, parse_ranges
from cells.core.sharding.rebalance import (
    DEFAULT_SAMPLE_SIZE,
    Move,
    RebalancePlan,
    TenantMove,
    plan_rebalance,
    sample_user_ids,
)
from cells.core.sharding.shard_map import (
    LOGICAL_MAX,
    LOGICAL_MIN,
    PUBLIC_FORMAT_VERSION,
    ShardMap,
    TenantShard,
)
from cells.core.sharding.vectors import (
    DEFAULT_VECTORS_PATH,
    VECTOR_BUCKET_COUNTS,
    build_vectors,
    render_vectors,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_SAMPLE_SIZE",
    "DEFAULT_VECTORS_PATH",
    "LOGICAL_MAX",
    "LOGICAL_MIN",
    "PUBLIC_FORMAT_VERSION",
    "VECTOR_BUCKET_COUNTS",
    "InvalidUserIdError",
    "Move",
    "RebalancePlan",
    "ShardMap",
    "ShardMapError",
    "TenantMove",
    "TenantShard",
    "UnknownTenantError",
    "build_vectors",
    "format_ranges",
    "jump_hash",
    "parse_ranges",
    "plan_rebalance",
    "render_vectors",
    "sample_user_ids",
    "shard_key",
]
