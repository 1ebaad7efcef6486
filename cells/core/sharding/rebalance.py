"""The rebalance planner: what changes between two shard maps, and how much consumer data moves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cells.core.sharding.key import jump_hash, shard_key
from cells.core.sharding.shard_map import ShardMap

DEFAULT_SAMPLE_SIZE = 100_000


@dataclass(frozen=True)
class Move:
    """A logical shard changing physical shard (its keys stay in the logical shard)."""

    logical: int
    source: str
    target: str


@dataclass(frozen=True)
class TenantMove:
    tenant: str
    source: str
    target: str


@dataclass(frozen=True)
class RebalancePlan:
    """What changes between two shard maps, and how much consumer data moves.

    Fractions are of consumer keys. `optimal_fraction` is the least share of keys that must change
    logical shard (jump hash achieves it in expectation); `expected_physical_fraction` is the exact
    expectation of the share changing physical shard, given both tables. The measured fractions come
    from hashing `sample_size` ids and are None when nothing was measured.
    """

    logical_change: tuple[int, int] | None
    moves: list[Move]
    optimal_fraction: float
    expected_physical_fraction: float
    sample_size: int
    logical_moved_fraction: float | None
    physical_moved_fraction: float | None
    tenant_moves: list[TenantMove]
    tenants_added: dict[str, str]
    tenants_removed: dict[str, str]
    tenant_kms_changes: dict[str, bool]
    physical_added: list[str]
    physical_removed: list[str]

    @property
    def is_empty(self) -> bool:
        return not (
            self.logical_change
            or self.moves
            or self.tenant_moves
            or self.tenants_added
            or self.tenants_removed
            or self.tenant_kms_changes
            or self.physical_added
            or self.physical_removed
        )

    def render(self) -> str:
        """The plan as text for a person deciding whether to run it."""
        if self.is_empty:
            return "Shard map unchanged: no keys move."
        lines: list[str] = []
        if self.logical_change is None:
            if self.moves:
                lines.append(
                    f"Logical shards changing physical shard: {len(self.moves)} "
                    f"({_pct(self.expected_physical_fraction)} of consumer keys); no other key moves."
                )
                lines += [f"  logical {m.logical}: {m.source} -> {m.target}" for m in self.moves]
        else:
            n, m = self.logical_change
            lines.append(
                f"Logical shard count changes {n} -> {m}: every consumer key is re-hashed and data "
                "must be copied between logical shards."
            )
            lines.append(
                f"  keys changing logical shard: optimal {_pct(self.optimal_fraction)}" + self._measured(0)
            )
            lines.append(
                f"  keys changing physical shard: expected {_pct(self.expected_physical_fraction)}"
                + self._measured(1)
            )
        if self.physical_added:
            lines.append(f"Physical shards to create first: {', '.join(self.physical_added)}")
        if self.physical_removed:
            lines.append(
                f"Physical shards left empty (retire after the copy): {', '.join(self.physical_removed)}"
            )
        tenant_lines = [f"  move {t.tenant}: {t.source} -> {t.target}" for t in self.tenant_moves]
        tenant_lines += [f"  add {t} on {p}" for t, p in self.tenants_added.items()]
        tenant_lines += [f"  remove {t} from {p}" for t, p in self.tenants_removed.items()]
        tenant_lines += [
            f"  {t}: dedicated KMS key {'on' if on else 'off'} (re-encrypts the tenant's data)"
            for t, on in self.tenant_kms_changes.items()
        ]
        if tenant_lines:
            lines.append("Tenants:")
            lines += tenant_lines
        return "\n".join(lines)

    def _measured(self, which: int) -> str:
        fraction = (self.logical_moved_fraction, self.physical_moved_fraction)[which]
        if fraction is None:
            return ""
        return f", measured {_pct(fraction)} of {self.sample_size} sample ids"


# (sample size, share changing logical shard, share changing physical shard)
_Measured = tuple[int, float | None, float | None]


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.2f}%"


def sample_user_ids(count: int | None = None) -> Iterator[str]:
    """Deterministic synthetic UserIDs user-0, user-1, ... (DEFAULT_SAMPLE_SIZE of them by default)."""
    return (f"user-{i}" for i in range(DEFAULT_SAMPLE_SIZE if count is None else count))


def plan_rebalance(
    current: ShardMap, proposed: ShardMap, sample_ids: Iterable[str] | None = None
) -> RebalancePlan:
    """Plan the change from `current` to `proposed`. Pure and deterministic.

    Same logical count: list the logical shards changing physical shard (no other key moves).
    Different counts: report the optimal and measured share of keys changing logical and physical
    shard, over `sample_ids` (default: 100,000 ids user-0 ...). Tenant changes are listed either way.
    """
    n, m = current.logical, proposed.logical
    old, new = current.logical_table, proposed.logical_table
    moves = [Move(s, old[s], new[s]) for s in range(n) if old[s] != new[s]] if n == m else []
    if n == m:
        optimal = 0.0
    elif n < m:
        optimal = 1 - n / m
    else:
        optimal = (n - m) / n
    measured: _Measured = (0, None, None)
    if n != m or sample_ids is not None:
        measured = _measure(current, proposed, sample_user_ids() if sample_ids is None else sample_ids)
    cur_t, new_t = current.tenants, proposed.tenants
    old_physical, new_physical = set(current.all_physical()), set(proposed.all_physical())
    return RebalancePlan(
        logical_change=None if n == m else (n, m),
        moves=moves,
        optimal_fraction=optimal,
        expected_physical_fraction=_expected_physical_fraction(old, new),
        sample_size=measured[0],
        logical_moved_fraction=measured[1],
        physical_moved_fraction=measured[2],
        tenant_moves=[
            TenantMove(t, cur_t[t].physical, new_t[t].physical)
            for t in sorted(cur_t.keys() & new_t.keys())
            if cur_t[t].physical != new_t[t].physical
        ],
        tenants_added={t: new_t[t].physical for t in sorted(new_t.keys() - cur_t.keys())},
        tenants_removed={t: cur_t[t].physical for t in sorted(cur_t.keys() - new_t.keys())},
        tenant_kms_changes={
            t: new_t[t].dedicated_kms_key
            for t in sorted(cur_t.keys() & new_t.keys())
            if cur_t[t].dedicated_kms_key != new_t[t].dedicated_kms_key
        },
        physical_added=sorted(new_physical - old_physical),
        physical_removed=sorted(old_physical - new_physical),
    )


def _measure(current: ShardMap, proposed: ShardMap, ids: Iterable[str]) -> _Measured:
    n, m = current.logical, proposed.logical
    old, new = current.logical_table, proposed.logical_table
    total = logical_moved = physical_moved = 0
    for user_id in ids:
        key = shard_key(user_id)
        before, after = jump_hash(key, n), jump_hash(key, m)
        total += 1
        logical_moved += before != after
        physical_moved += old[before] != new[after]
    if not total:
        return 0, None, None
    return total, logical_moved / total, physical_moved / total


def _expected_physical_fraction(old: tuple[str, ...], new: tuple[str, ...]) -> float:
    # Jump hash growing s -> g buckets keeps a key in its bucket b < s with probability 1/g each, and
    # sends it to each new bucket c >= s with probability 1/g, drawn uniformly from the s old
    # buckets (probability 1/(g*s) per pair). Shrinking is the same process read backwards.
    small, large = (old, new) if len(old) <= len(new) else (new, old)
    s, g = len(small), len(large)
    stay = sum(small[b] != large[b] for b in range(s)) / g
    moved = sum(small[b] != large[c] for b in range(s) for c in range(s, g)) / (g * s)
    return stay + moved
