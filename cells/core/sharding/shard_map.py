"""The validated shard map of a cell: consumer physical shards, dedicated tenants, lookups.

Enterprise tenants skip the hash: a known TenantID maps to its own dedicated physical shard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
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

from cells.core.sharding.errors import InvalidUserIdError, ShardMapError, UnknownTenantError
from cells.core.sharding.key import ALGORITHM, jump_hash, shard_key
from cells.core.sharding.ranges import format_ranges, parse_ranges

# Version of the published (SSM / stack output) document; bump only with a new reader in the API.
PUBLIC_FORMAT_VERSION = 1
# The range of logical shards per cell the product strategy set (docs/sharding.md).
LOGICAL_MIN, LOGICAL_MAX = 10, 50

# Physical shard names become Firestore database ids: 4-63 chars of [a-z0-9-], first a letter, last
# a letter or digit (Firestore Admin API, databases.create). This project caps them at 30.
PHYSICAL_NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{2,28}[a-z0-9]")
TENANT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]")


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
