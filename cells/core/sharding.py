"""Consumer and tenant sharding: UserID -> logical shard -> physical shard (a Firestore database).

Pure Python with no Pulumi, so the API imports it as it is. Services in other languages prove they
agree by recomputing `cells/core/shard_vectors.json` (`python -m cells shards vectors` writes it).

The algorithm is fixed forever, since changing any step moves almost every key:

    key     = SHA-256(UTF-8 bytes of the UserID)[0:8], read as a big-endian unsigned 64-bit int
    logical = jump_hash(key, logical count)   # Lamping & Veach 2014, the paper's C++, bit for bit
    shard   = the physical shard whose range string lists `logical`

Enterprise tenants skip the hash: a known TenantID maps to its own dedicated physical shard.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails

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
    "write_vectors",
]

ALGORITHM = "sha256-be64+jump"
# Version of the published (SSM / stack output) document; bump only with a new reader in the API.
PUBLIC_FORMAT_VERSION = 1
# The range of logical shards per cell the product strategy set (docs/sharding.md).
LOGICAL_MIN, LOGICAL_MAX = 10, 50
DEFAULT_SAMPLE_SIZE = 100_000
VECTOR_BUCKET_COUNTS = (1, 2, 10, 16, 32, 50, 1000)
DEFAULT_VECTORS_PATH = Path(__file__).with_name("shard_vectors.json")

# Physical shard names become Firestore database ids: 4-63 chars of [a-z0-9-], first a letter, last
# a letter or digit (Firestore Admin API, databases.create). This project caps them at 30.
PHYSICAL_NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{2,28}[a-z0-9]")
TENANT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]")
_RANGE_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")
_RANGE_EXAMPLE = "'0-7,12,14-15'"

_sha256 = hashlib.sha256
_be_uint64 = struct.Struct(">Q").unpack_from


class ShardMapError(ValueError):
    """A sharding call the map cannot answer: a bad UserID or an unknown TenantID."""


class InvalidUserIdError(ShardMapError):
    """The UserID cannot be hashed: empty, or not encodable as UTF-8."""


class UnknownTenantError(ShardMapError):
    """A TenantID that this cell's shard map does not know."""


# --- the hash: the part every language must reproduce -------------------------------------------


def shard_key(user_id: str) -> int:
    """The stable 64-bit key of a UserID: SHA-256 of its UTF-8 bytes, first 8 bytes big-endian.

    The bytes are taken exactly as given: no Unicode normalisation, no case folding, no trimming.
    """
    try:
        data = user_id.encode()  # UTF-8; the no-argument form is CPython's fastest path
    except AttributeError:
        raise TypeError(f"a UserID must be a str, got {type(user_id).__name__}") from None
    except UnicodeEncodeError as exc:
        raise InvalidUserIdError(
            f"UserID {user_id!r} has a lone surrogate at index {exc.start}, so it has no UTF-8 "
            "encoding; UserIDs must be well-formed Unicode"
        ) from None
    if not data:
        raise InvalidUserIdError("UserID is empty; every consumer needs a non-empty UserID to be sharded")
    return _be_uint64(_sha256(data).digest())[0]


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping & Veach 2014): the bucket in [0, buckets) of a 64-bit key.

    Bit-identical to the paper's C++: a 64-bit LCG and the same two IEEE-754 double operations,
    `(b + 1) * (2**31 / ((key >> 33) + 1))`, truncated. `key` is taken modulo 2**64, as C++'s
    uint64_t would. Rewrites that looked faster (float-only state, an early exit before the
    truncation) measured no better than this, the reference shape.
    """
    if not 0 < buckets < 2147483648:
        raise ValueError(f"buckets is {buckets}; must be 1 to 2**31 - 1 (the reference's int32 range)")
    b = -1
    j = 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        # Both ints are below 2**53, so Python converts them to doubles exactly, as the C++ casts do.
        j = int((b + 1) * (2147483648.0 / ((key >> 33) + 1)))
    return b


# --- range strings: "0-7,12,14-15" <-> frozenset ------------------------------------------------


def parse_ranges(text: str) -> frozenset[int]:
    """Parse a compact range string like '0-7,12,14-15' into the set of numbers it lists."""
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise ValueError(f"{text!r} lists no logical shards; write numbers and ranges like {_RANGE_EXAMPLE}")
    numbers: list[int] = []
    for item in items:
        match = _RANGE_ITEM.fullmatch(item)
        if match is None:
            raise ValueError(
                f"{text!r} is malformed: {item!r} is neither a number nor a range like '14-15'; "
                f"write comma-separated numbers and ranges like {_RANGE_EXAMPLE}"
            )
        low = int(match[1])
        high = int(match[2]) if match[2] is not None else low
        if high < low:
            raise ValueError(f"{text!r} has the range {item!r} running backwards; write it as '{high}-{low}'")
        numbers.extend(range(low, high + 1))
    found = frozenset(numbers)
    if len(found) != len(numbers):
        twice = {n for n, count in Counter(numbers).items() if count > 1}
        shards = "shard" if len(twice) == 1 else "shards"
        raise ValueError(
            f"{text!r} lists logical {shards} {format_ranges(twice)} more than once; "
            f"list each once, e.g. {format_ranges(found)!r}"
        )
    return found


def format_ranges(numbers: Iterable[int]) -> str:
    """The canonical compact range string of a set of numbers: sorted, runs joined, e.g. '0-7,12'."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        start = end = ordered[i]
        while i + 1 < len(ordered) and ordered[i + 1] == end + 1:
            i += 1
            end = ordered[i]
        parts.append(str(start) if start == end else f"{start}-{end}")
        i += 1
    return ",".join(parts)


def _canonical_ranges(text: str) -> str:
    return format_ranges(parse_ranges(text))


def _int_as_text(value: Any) -> Any:
    # YAML reads `shard-a: 12` as an int; accept it as the one-shard range it means.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _physical_name(value: str) -> str:
    if not PHYSICAL_NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid physical shard name; use 4 to 30 characters of lowercase letters, "
            "digits and '-', starting with a letter and ending with a letter or digit (it becomes a "
            "Firestore database id), e.g. 'shard-a'"
        )
    return value


def _tenant_id(value: str) -> str:
    if not TENANT_ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid tenant id; use 3 to 40 characters of lowercase letters, digits "
            "and '-', starting and ending with a letter or digit, e.g. 'acme-insurance'"
        )
    return value


PhysicalName = Annotated[str, AfterValidator(_physical_name)]
TenantId = Annotated[str, AfterValidator(_tenant_id)]
RangeString = Annotated[str, BeforeValidator(_int_as_text), AfterValidator(_canonical_ranges)]


# --- the map -----------------------------------------------------------------------------------


class _Model(BaseModel):
    # Same key style as the stack files (camelCase), unknown keys refused, fields not reassignable.
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class TenantShard(_Model):
    """An enterprise tenant's home: a physical shard of its own, optionally with its own KMS key."""

    physical: PhysicalName = Field(
        description="The tenant's dedicated physical shard (Firestore database id)."
    )
    dedicated_kms_key: bool = Field(False, description="Encrypt the tenant's data with a KMS key of its own.")
    residency: str | None = Field(
        None,
        description="The residency zone the tenant's contract requires (e.g. eu); checked against the cell.",
    )
    moving_from: str | None = Field(
        None,
        description="Only while the tenant moves here: the cell that is its home (and declares it without "
        "movingFrom). Both cells then provision the tenant's database and dataset; `cells move tenant` "
        "copies into these. Remove it once the source no longer declares the tenant.",
    )


class ShardMap(_Model):
    """A cell's validated shard map.

    `physical` maps each consumer physical shard to the logical shards it holds, as a range string
    ("0-7,12,14-15", stored in canonical form). Every logical shard 0..logical-1 is in exactly one
    of them. Tenant shards are not listed there: each tenant names its own in `tenants`.

    Frozen: for a change, validate a new map (`model_copy(update=...)` skips validation) and run
    `plan_rebalance` on the pair; never mutate the dicts in place, since lookups use a table
    computed once.
    """

    logical: int = Field(description=f"Logical shard count, {LOGICAL_MIN} to {LOGICAL_MAX}; fixed per cell.")
    physical: dict[PhysicalName, RangeString] = Field(
        description="Consumer physical shard -> the logical shards it holds, e.g. '0-7,12,14-15'."
    )
    tenants: dict[TenantId, TenantShard] = Field(
        default_factory=dict, description="Enterprise TenantID -> its dedicated physical shard."
    )

    @field_validator("logical")
    @classmethod
    def _logical_in_seed_range(cls, value: int) -> int:
        if not LOGICAL_MIN <= value <= LOGICAL_MAX:
            raise ValueError(f"logical is {value}; must be {LOGICAL_MIN} to {LOGICAL_MAX} (the seed's range)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ShardMap:
        problems = [*self._logical_problems(), *self._tenant_problems()]
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(type="value_error", loc=loc, input=value, ctx={"error": ValueError(msg)})
                    for loc, value, msg in problems
                ],
            )
        return self

    def _logical_problems(self) -> Iterator[tuple[tuple[str, ...], Any, str]]:
        n = self.logical
        owners: dict[int, list[str]] = {}
        for name, shards in self.physical_sets().items():
            outside = sorted(s for s in shards if s >= n)
            if outside:
                what = "shard" if len(outside) == 1 else "shards"
                yield (
                    ("physical", name),
                    self.physical[name],
                    f"physical shard {name!r} lists logical {what} {format_ranges(outside)}, out of range; "
                    f"logical is {n}, so logical shards are 0..{n - 1}",
                )
            for s in shards:
                owners.setdefault(s, []).append(name)
        shared: dict[tuple[str, ...], list[int]] = {}
        for s, names in owners.items():
            if len(names) > 1:
                shared.setdefault(tuple(sorted(names)), []).append(s)
        for names, shards in sorted(shared.items()):
            where = f"both {names[0]} and {names[1]}" if len(names) == 2 else _and(names)
            subject = _logical_subject(shards)
            yield (
                ("physical",),
                self.physical,
                f"{subject} in {where}; each logical shard must be in exactly one physical shard",
            )
        missing = [s for s in range(n) if s not in owners]
        if missing:
            yield (
                ("physical",),
                self.physical,
                f"{_logical_subject(missing)} in no physical shard; "
                f"each of 0..{n - 1} must be in exactly one",
            )

    def _tenant_problems(self) -> Iterator[tuple[tuple[str, ...], Any, str]]:
        users: dict[str, list[str]] = {}
        for tenant, home in self.tenants.items():
            users.setdefault(home.physical, []).append(tenant)
            if home.physical in self.physical:
                suggestion = f"tenant-{tenant}"
                example = f", e.g. {suggestion!r}" if PHYSICAL_NAME_PATTERN.fullmatch(suggestion) else ""
                yield (
                    ("tenants", tenant, "physical"),
                    home.physical,
                    f"tenant {tenant}'s physical shard {home.physical!r} also holds consumer shards; "
                    f"a tenant needs a dedicated physical shard{example}",
                )
        for physical, tenants in sorted(users.items()):
            if len(tenants) > 1:
                yield (
                    ("tenants",),
                    physical,
                    f"physical shard {physical!r} is used by tenants {_and(sorted(tenants))}; "
                    "each tenant needs its own physical shard",
                )

    # Computed once per map; a cached_property lands in the instance dict, so a lookup reads the
    # table as a plain attribute.
    @cached_property
    def _sets(self) -> dict[str, frozenset[int]]:
        return {name: parse_ranges(text) for name, text in self.physical.items()}

    @cached_property
    def logical_table(self) -> tuple[str, ...]:
        """Logical shard -> its physical shard, indexed by logical shard number."""
        table = [""] * self.logical
        for name, shards in self._sets.items():
            for s in shards:
                table[s] = name
        return tuple(table)

    @cached_property
    def _tenant_homes(self) -> dict[str, str]:
        return {tenant: home.physical for tenant, home in self.tenants.items()}

    def physical_sets(self) -> dict[str, frozenset[int]]:
        """Consumer physical shard -> the set of logical shards it holds."""
        return dict(self._sets)

    def logical_of(self, user_id: str) -> int:
        """The logical shard of a consumer UserID."""
        return jump_hash(shard_key(user_id), self.logical)

    def lookup(self, user_id: str, tenant_id: str | None = None) -> str:
        """The physical shard holding a user's data.

        With no tenant_id, the consumer path: one hash, one jump, one table index. With a tenant_id,
        that tenant's dedicated shard; a tenant_id the map does not know raises UnknownTenantError
        (never a silent fall back to the consumer shards, which would write a tenant's data there).
        """
        if tenant_id is None:
            return self.logical_table[jump_hash(shard_key(user_id), self.logical)]
        if not user_id:
            raise InvalidUserIdError("UserID is empty; every user needs a non-empty UserID")
        home = self._tenant_homes.get(tenant_id)
        if home is None:
            known = ", ".join(sorted(self._tenant_homes)) or "none"
            raise UnknownTenantError(
                f"unknown tenant {tenant_id!r}: this cell's shard map has tenants: {known}; "
                "pass tenant_id=None for consumers"
            )
        return home

    def all_physical(self) -> list[str]:
        """Every physical shard of the cell: consumer shards sorted, then tenant shards sorted."""
        return sorted(self.physical) + sorted(self._tenant_homes.values())

    def to_public_dict(self) -> dict[str, Any]:
        """The JSON document published for the API (SSM parameter and stack output)."""
        return {
            "version": PUBLIC_FORMAT_VERSION,
            "algorithm": ALGORITHM,
            "logical": self.logical,
            "physical": {name: sorted(self._sets[name]) for name in sorted(self.physical)},
            "tenants": {
                tenant: {"physical": home.physical, "dedicatedKmsKey": home.dedicated_kms_key}
                for tenant, home in sorted(self.tenants.items())
            },
        }

    @classmethod
    def from_public_dict(cls, document: Mapping[str, Any]) -> ShardMap:
        """Read a published document back (what the API does at start), refusing other formats."""
        if document.get("version") != PUBLIC_FORMAT_VERSION or document.get("algorithm") != ALGORITHM:
            raise ShardMapError(
                f"shard map document is version {document.get('version')!r} with algorithm "
                f"{document.get('algorithm')!r}; this reader understands version {PUBLIC_FORMAT_VERSION} "
                f"with {ALGORITHM!r}"
            )
        return cls.model_validate(
            {
                "logical": document["logical"],
                "physical": {name: format_ranges(shards) for name, shards in document["physical"].items()},
                "tenants": document.get("tenants", {}),
            }
        )


def _and(words: list[str] | tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _logical_subject(shards: Iterable[int]) -> str:
    shards = sorted(shards)
    if len(shards) == 1:
        return f"logical shard {shards[0]} is"
    return f"logical shards {format_ranges(shards)} are"


# --- the rebalance planner ---------------------------------------------------------------------


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


# --- test vectors for other languages ----------------------------------------------------------

# (label, UserID). Labels say what each case catches; ids are fixed forever once published.
VECTOR_IDS: tuple[tuple[str, str], ...] = (
    ("one ASCII letter", "a"),
    ("one digit", "0"),
    ("synthetic id 0", "user-0"),
    ("synthetic id 1", "user-1"),
    ("synthetic id 42", "user-42"),
    ("lowercase name", "alice"),
    ("case matters", "Alice"),
    ("trailing space is kept", "alice "),
    ("leading space is kept", " alice"),
    ("email", "user@example.com"),
    ("Auth0 subject", "auth0|5f7c8ec7c33c6c004bbafe82"),
    ("Google subject", "google-oauth2|104623384920392384"),
    ("Firebase-style uid", "kX8bJ2nQpLe1sTz4VwYh0aRc3Dm2"),
    ("digits only", "1234567890"),
    ("single hyphen", "-"),
    ("tab inside", "a\tb"),
    ("newline inside", "line1\nline2"),
    ("NUL byte inside (C strings stop here)", "nul\x00inside"),
    ("precomposed e-acute U+00E9 (NFC)", "caf\u00e9"),
    ("e + combining acute U+0301 (NFD), differs from NFC", "cafe\u0301"),
    ("Latin with diacritics", "\u00dcn\u00efc\u00f6d\u00e9"),
    ("angstrom sign U+212B, not U+00C5", "\u212b"),
    ("ligature fi U+FB01", "\ufb01le"),
    ("no-break space U+00A0", "no\u00a0break"),
    ("byte order mark prefix U+FEFF", "\ufeffbom"),
    ("Chinese", "\u7528\u6237"),
    ("Cyrillic", "\u043f\u043e\u043b\u044c\u0437\u043e\u0432\u0430\u0442\u0435\u043b\u044c"),
    ("Japanese katakana", "\u30e6\u30fc\u30b6\u30fc"),
    ("Arabic (right to left)", "\u0645\u0633\u062a\u062e\u062f\u0645"),
    ("emoji, 4-byte UTF-8 (surrogate pair in UTF-16)", "\U0001f600"),
    ("emoji inside ASCII", "user-\U0001f600-42"),
    ("ZWJ family sequence", "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"),
    ("flag of regional indicators", "\U0001f1ea\U0001f1fa"),
    ("astral math letters", "\U0001d518\U0001d530\U0001d522\U0001d52f"),
    ("55 bytes: SHA-256 single block, padding fits", "a" * 55),
    ("56 bytes: SHA-256 padding spills to a second block", "a" * 56),
    ("64 bytes: exactly one SHA-256 block", "a" * 64),
    ("256 characters", "x" * 256),
    ("2,000 characters", "ab" * 1000),
    ("UUID, lowercase", "123e4567-e89b-12d3-a456-426614174000"),
    ("UUID, uppercase (a different id)", "123E4567-E89B-12D3-A456-426614174000"),
    ("nil UUID", "00000000-0000-0000-0000-000000000000"),
    ("max UUID", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
    ("ULID", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
)

# Keys for testing jump_hash alone: edges of the 64-bit range, keys other implementations publish,
# and three keys built (by inverting the LCG) to reach a step where the true quotient is an integer
# but the C++'s two double roundings land just below it, e.g. bucket 48 then r = 1644167168:
# 49 * (2**31 / r) = 63.99999999999999 where exact arithmetic, or Guava's single rounding, gives 64.
# Random keys almost never reach such a step; these make a port with the wrong arithmetic fail.
VECTOR_JUMP_KEYS = (
    0,
    1,
    2,
    42,
    256,
    0xDEAD10CC,
    2**32,
    2**63 - 1,
    2**63,
    16045690984833335023,
    2**64 - 1,
    1673232497983283878,
    5051635782343028955,
    16621869120614541160,
)
VECTOR_JUMP_BUCKETS = (1, 2, 10, 50, 57, 64, 128, 666, 1024, 2**31 - 1)

JUMP_HASH_CPP = """\
int32_t JumpConsistentHash(uint64_t key, int32_t num_buckets) {
  int64_t b = -1, j = 0;
  while (j < num_buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = (b + 1) * (double(1LL << 31) / double((key >> 33) + 1));
  }
  return b;
}"""


def build_vectors() -> dict[str, Any]:
    """The test-vector document, as written to cells/core/shard_vectors.json."""

    def key_fields(key: int) -> dict[str, str]:
        return {"key": str(key), "key_hex": f"{key:016x}"}

    return {
        "format": 1,
        "algorithm": ALGORITHM,
        "description": (
            "UserID -> logical shard. key = the first 8 bytes of SHA-256 over the UserID's UTF-8 "
            "bytes (no Unicode normalisation, no trimming, no case folding), read as an unsigned "
            "64-bit big-endian integer. logical shard = JumpConsistentHash(key, logical count), the "
            "C++ of Lamping & Veach 2014 (arXiv:1406.2294) below, with IEEE-754 double arithmetic. "
            "Keys are given as decimal strings and as 16 hex digits because JSON numbers cannot hold "
            "64-bit integers in JavaScript."
        ),
        "jump_hash_cpp": JUMP_HASH_CPP,
        "bucket_counts": list(VECTOR_BUCKET_COUNTS),
        "cases": [
            {
                "label": label,
                "id": user_id,
                "utf8_hex": user_id.encode().hex(),
                **key_fields(key := shard_key(user_id)),
                "shard": {str(n): jump_hash(key, n) for n in VECTOR_BUCKET_COUNTS},
            }
            for label, user_id in VECTOR_IDS
        ],
        "jump_cases": [
            {**key_fields(key), "buckets": n, "bucket": jump_hash(key, n)}
            for key in VECTOR_JUMP_KEYS
            for n in VECTOR_JUMP_BUCKETS
        ],
    }


def render_vectors() -> str:
    """The vectors as JSON text: one case per line, so a diff shows which case changed.

    ASCII-only (non-ASCII as \\u escapes): an editor that normalises Unicode cannot change an id.
    """
    document = build_vectors()
    lines = ["{"]
    for i, (name, value) in enumerate(document.items()):
        comma = "," if i < len(document) - 1 else ""
        if name in ("cases", "jump_cases"):
            lines.append(f"  {json.dumps(name)}: [")
            lines += [f"    {json.dumps(case)}," for case in value]
            lines[-1] = lines[-1].removesuffix(",")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(name)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_vectors(path: Path | str = DEFAULT_VECTORS_PATH) -> Path:
    """Write the test vectors; the committed file must equal this output (a test checks)."""
    path = Path(path)
    path.write_text(render_vectors(), encoding="ascii")
    return path
