"""The sharding rules: stable keys, jump hash properties, the validated map, and the rebalance planner."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cells.core import sharding
from cells.core.sharding import (
    ALGORITHM,
    DEFAULT_SAMPLE_SIZE,
    InvalidUserIdError,
    Move,
    ShardMap,
    ShardMapError,
    TenantMove,
    UnknownTenantError,
    format_ranges,
    jump_hash,
    parse_ranges,
    plan_rebalance,
    sample_user_ids,
    shard_key,
)

KEYS = st.integers(min_value=0, max_value=2**64 - 1)
USER_IDS = st.text(min_size=1, max_size=40)
# Chi-square critical values at p = 0.001 for n - 1 degrees of freedom (standard tables).
CHI2_P001 = {10: 27.88, 32: 61.10, 50: 85.35}


def shard_map(
    logical: int = 16, physical: dict[str, str] | None = None, tenants: dict[str, Any] | None = None
) -> ShardMap:
    """A valid map; by default the logical shards split in halves over shard-a and shard-b."""
    halves = {"shard-a": f"0-{logical // 2 - 1}", "shard-b": f"{logical // 2}-{logical - 1}"}
    return ShardMap.model_validate(
        {"logical": logical, "physical": physical or halves, "tenants": tenants or {}}
    )


def refusals(config: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Validate a config that must be refused; return each error's (loc, message)."""
    with pytest.raises(ValidationError) as caught:
        ShardMap.model_validate(config)
    return [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in caught.value.errors()]


def only_refusal(config: dict[str, Any]) -> str:
    found = refusals(config)
    assert len(found) == 1, found
    return found[0][1]


@pytest.fixture(scope="module")
def sample_keys() -> list[int]:
    return [shard_key(f"user-{i}") for i in range(50_000)]


# --- shard_key -----------------------------------------------------------------------------------


def test_shard_key_is_the_first_eight_sha256_bytes_big_endian():
    digest = hashlib.sha256(b"user-42").digest()
    assert shard_key("user-42") == int.from_bytes(digest[:8], "big")
    assert shard_key("a") == 0xCA978112CA1BBDCA  # SHA-256("a") starts ca978112 ca1bbdca


def test_shard_key_hashes_exact_bytes_without_normalising():
    assert shard_key("caf\u00e9") != shard_key("cafe\u0301")
    assert shard_key("alice") != shard_key("Alice") != shard_key(" alice")


def test_shard_key_refuses_an_empty_id():
    with pytest.raises(InvalidUserIdError, match="UserID is empty") as caught:
        shard_key("")
    assert isinstance(caught.value, ShardMapError)
    assert isinstance(caught.value, ValueError)


def test_shard_key_refuses_a_lone_surrogate():
    with pytest.raises(InvalidUserIdError, match="lone surrogate at index 3"):
        shard_key("abc\ud800")


def test_shard_key_refuses_a_non_string():
    with pytest.raises(TypeError, match="must be a str, got bytes"):
        shard_key(b"user-1")  # type: ignore[arg-type]


# --- jump_hash -----------------------------------------------------------------------------------


@given(key=KEYS, buckets=st.integers(min_value=1, max_value=2**31 - 1))
def test_jump_hash_stays_in_range(key: int, buckets: int):
    assert 0 <= jump_hash(key, buckets) < buckets


@given(key=KEYS, buckets=st.integers(min_value=1, max_value=10_000))
def test_growing_by_one_bucket_keeps_a_key_or_moves_it_to_the_new_bucket(key: int, buckets: int):
    assert jump_hash(key, buckets + 1) in (jump_hash(key, buckets), buckets)


@given(key=KEYS, small=st.integers(min_value=1, max_value=200), extra=st.integers(min_value=1, max_value=200))
def test_growing_many_buckets_only_moves_keys_into_new_buckets(key: int, small: int, extra: int):
    before, after = jump_hash(key, small), jump_hash(key, small + extra)
    assert after == before or after >= small


def test_jump_hash_refuses_zero_buckets():
    with pytest.raises(ValueError, match="buckets is 0; must be 1 to 2\\*\\*31 - 1"):
        jump_hash(1, 0)


def test_jump_hash_refuses_buckets_beyond_int32():
    with pytest.raises(ValueError, match="buckets is 2147483648"):
        jump_hash(1, 2**31)


def test_jump_hash_takes_keys_modulo_two_to_the_64():
    assert jump_hash(2**64 + 5, 1000) == jump_hash(5, 1000)
    assert jump_hash(-1, 1000) == jump_hash(2**64 - 1, 1000)


@pytest.mark.parametrize("buckets", [10, 32, 49])
def test_growing_by_one_moves_close_to_the_optimal_fraction(sample_keys: list[int], buckets: int):
    keys = sample_keys[:20_000]
    moved = sum(jump_hash(k, buckets) != jump_hash(k, buckets + 1) for k in keys) / len(keys)
    assert abs(moved - 1 / (buckets + 1)) < 0.01, moved


@pytest.mark.parametrize("buckets", [10, 32, 50])
def test_keys_spread_uniformly_over_logical_shards(sample_keys: list[int], buckets: int):
    counts = [0] * buckets
    for key in sample_keys:
        counts[jump_hash(key, buckets)] += 1
    mean = len(sample_keys) / buckets
    chi2 = sum((c - mean) ** 2 / mean for c in counts)
    assert chi2 < CHI2_P001[buckets], (chi2, counts)
    # At 1,000 to 5,000 keys a shard, one standard deviation is 1.4% to 3.2% of the mean.
    assert max(counts) / mean < 1.15, counts


# --- the map: lookups ----------------------------------------------------------------------------


@settings(max_examples=50)
@given(user_id=USER_IDS)
def test_a_user_lands_on_the_same_shard_across_map_rebuilds(user_id: str):
    first = shard_map(32, tenants={"acme": {"physical": "tenant-acme"}})
    rebuilt = ShardMap.model_validate(first.model_dump())
    from_json = ShardMap.model_validate_json(first.model_dump_json(by_alias=True))
    published = ShardMap.from_public_dict(json.loads(json.dumps(first.to_public_dict())))
    shards = {m.lookup(user_id) for m in (first, rebuilt, from_json, published, shard_map(32))}
    assert len(shards) == 1
    assert first.lookup(user_id) == first.lookup(user_id)


@settings(max_examples=50)
@given(user_id=USER_IDS)
def test_lookup_is_the_physical_shard_of_the_logical_shard(user_id: str):
    m = shard_map(16, {"shard-a": "0-3,8-11", "shard-b": "4-7,12-15"})
    logical = m.logical_of(user_id)
    assert 0 <= logical < 16
    assert m.lookup(user_id) == m.logical_table[logical]
    assert logical in m.physical_sets()[m.lookup(user_id)]


@settings(max_examples=25)
@given(logical=st.integers(min_value=0, max_value=15), user_ids=st.lists(USER_IDS, max_size=30))
def test_moving_one_logical_shard_moves_no_other_key(logical: int, user_ids: list[str]):
    before = shard_map(16)
    sets = before.physical_sets()
    source = before.logical_table[logical]
    target = "shard-b" if source == "shard-a" else "shard-a"
    after = shard_map(
        16,
        {source: format_ranges(sets[source] - {logical}), target: format_ranges(sets[target] | {logical})},
    )
    for user_id in [*user_ids, *(f"user-{i}" for i in range(300))]:
        moved = before.lookup(user_id) != after.lookup(user_id)
        assert moved == (before.logical_of(user_id) == logical), user_id


def test_a_known_tenant_goes_to_its_dedicated_shard():
    m = shard_map(tenants={"acme": {"physical": "tenant-acme"}})
    assert m.lookup("user-1", "acme") == "tenant-acme"
    assert m.lookup("user-1", None) in ("shard-a", "shard-b")


def test_an_unknown_tenant_is_refused_not_sent_to_consumer_shards():
    m = shard_map(tenants={"acme": {"physical": "tenant-acme"}, "globex": {"physical": "tenant-globex"}})
    with pytest.raises(UnknownTenantError, match=r"unknown tenant 'initech': .* tenants: acme, globex"):
        m.lookup("user-1", "initech")
    with pytest.raises(UnknownTenantError, match="unknown tenant ''"):
        m.lookup("user-1", "")


def test_lookup_refuses_an_empty_user_id_on_both_paths():
    m = shard_map(tenants={"acme": {"physical": "tenant-acme"}})
    with pytest.raises(InvalidUserIdError):
        m.lookup("")
    with pytest.raises(InvalidUserIdError):
        m.lookup("", "acme")


def test_all_physical_lists_consumer_shards_then_tenant_shards_each_sorted():
    m = ShardMap.model_validate(
        {
            "logical": 10,
            "physical": {"shard-b": "5-9", "shard-a": "0-4"},
            "tenants": {"zeta": {"physical": "tenant-aaa"}, "acme": {"physical": "tenant-zzz"}},
        }
    )
    assert m.all_physical() == ["shard-a", "shard-b", "tenant-aaa", "tenant-zzz"]


def test_public_dict_is_json_with_sorted_integer_lists():
    m = ShardMap.model_validate(
        {
            "logical": 12,
            "physical": {"shard-b": "4-5, 10-11", "shard-a": "0-3,6-9"},
            "tenants": {"acme": {"physical": "tenant-acme", "dedicatedKmsKey": True}},
        }
    )
    assert json.loads(json.dumps(m.to_public_dict())) == {
        "version": 1,
        "algorithm": ALGORITHM,
        "logical": 12,
        "physical": {"shard-a": [0, 1, 2, 3, 6, 7, 8, 9], "shard-b": [4, 5, 10, 11]},
        "tenants": {"acme": {"physical": "tenant-acme", "dedicatedKmsKey": True}},
    }
    assert ShardMap.from_public_dict(m.to_public_dict()) == m


def test_a_published_document_of_another_format_is_refused():
    document = shard_map().to_public_dict() | {"algorithm": "md5+modulo"}
    with pytest.raises(ShardMapError, match="algorithm 'md5\\+modulo'; this reader understands version 1"):
        ShardMap.from_public_dict(document)


def test_range_strings_are_stored_in_canonical_form():
    m = shard_map(10, {"shard-a": "0-2, 3 ,4", "shard-b": "9,5-8"})
    assert m.physical == {"shard-a": "0-4", "shard-b": "5-9"}
    assert m.physical_sets() == {"shard-a": frozenset(range(5)), "shard-b": frozenset(range(5, 10))}


def test_a_yaml_integer_is_read_as_a_one_shard_range():
    m = ShardMap.model_validate({"logical": 10, "physical": {"shard-a": "0-8", "shard-b": 9}})
    assert m.physical["shard-b"] == "9"


def test_tenant_kms_flag_reads_the_stack_files_camel_case():
    camel = shard_map(tenants={"acme": {"physical": "tenant-acme", "dedicatedKmsKey": True}})
    snake = shard_map(tenants={"acme": {"physical": "tenant-acme", "dedicated_kms_key": True}})
    assert camel.tenants["acme"].dedicated_kms_key and snake == camel


def test_the_map_is_frozen():
    m = shard_map()
    with pytest.raises(ValidationError, match="frozen"):
        m.logical = 20  # type: ignore[misc]


@given(numbers=st.sets(st.integers(min_value=0, max_value=60), min_size=1))
def test_range_strings_round_trip(numbers: set[int]):
    assert parse_ranges(format_ranges(numbers)) == numbers


def test_format_ranges_joins_runs():
    assert format_ranges({15, 0, 1, 2, 3, 4, 5, 6, 7, 12, 14}) == "0-7,12,14-15"


# --- the map: each refusal -----------------------------------------------------------------------

VALID = {
    "logical": 16,
    "physical": {"shard-a": "0-7", "shard-b": "8-15"},
    "tenants": {"acme": {"physical": "tenant-acme"}},
}


def with_(**changes: Any) -> dict[str, Any]:
    return VALID | changes


def test_refuses_more_logical_shards_than_the_seed_allows():
    assert only_refusal(with_(logical=60)) == "logical is 60; must be 10 to 50 (the seed's range)"


def test_refuses_fewer_logical_shards_than_the_seed_allows():
    assert only_refusal(with_(logical=9)) == "logical is 9; must be 10 to 50 (the seed's range)"


def test_refuses_a_logical_shard_in_no_physical_shard():
    message = only_refusal(with_(physical={"shard-a": "0-6", "shard-b": "8-15"}))
    assert message == "logical shard 7 is in no physical shard; each of 0..15 must be in exactly one"


def test_refuses_several_missing_logical_shards_in_one_message():
    message = only_refusal(with_(physical={"shard-a": "0-5", "shard-b": "8-9,12-15"}))
    assert (
        message == "logical shards 6-7,10-11 are in no physical shard; each of 0..15 must be in exactly one"
    )


def test_refuses_a_logical_shard_in_two_physical_shards():
    message = only_refusal(with_(physical={"shard-a": "0-7", "shard-b": "3,8-15"}))
    assert message == (
        "logical shard 3 is in both shard-a and shard-b; "
        "each logical shard must be in exactly one physical shard"
    )


def test_refuses_a_logical_shard_held_by_three_physical_shards():
    found = refusals(with_(physical={"shard-a": "0-9", "shard-b": "6-15", "shard-c": "9"}))
    rule = "each logical shard must be in exactly one physical shard"
    assert [m for _, m in found] == [
        f"logical shards 6-8 are in both shard-a and shard-b; {rule}",
        f"logical shard 9 is in shard-a, shard-b and shard-c; {rule}",
    ]


def test_refuses_a_logical_shard_beyond_the_logical_count():
    found = refusals(with_(physical={"shard-a": "0-7", "shard-b": "8-16"}))
    assert found == [
        (
            ("physical", "shard-b"),
            "physical shard 'shard-b' lists logical shard 16, out of range; "
            "logical is 16, so logical shards are 0..15",
        )
    ]


def test_refuses_a_malformed_range_string():
    found = refusals(with_(physical={"shard-a": "0-7,,9", "shard-b": "8-15"}))
    assert found == [
        (
            ("physical", "shard-a"),
            "'0-7,,9' is malformed: '' is neither a number nor a range like '14-15'; "
            "write comma-separated numbers and ranges like '0-7,12,14-15'",
        )
    ]


def test_refuses_a_range_string_with_words():
    message = only_refusal(with_(physical={"shard-a": "zero-seven", "shard-b": "8-15"}))
    assert message.startswith("'zero-seven' is malformed: 'zero-seven' is neither a number nor a range")


def test_refuses_a_negative_logical_shard():
    message = only_refusal(with_(physical={"shard-a": "-1-7", "shard-b": "8-15"}))
    assert message.startswith("'-1-7' is malformed:")


def test_refuses_a_range_running_backwards():
    message = only_refusal(with_(physical={"shard-a": "7-0", "shard-b": "8-15"}))
    assert message == "'7-0' has the range '7-0' running backwards; write it as '0-7'"


def test_refuses_a_range_string_listing_a_shard_twice():
    message = only_refusal(with_(physical={"shard-a": "0-5,4-7", "shard-b": "8-15"}))
    assert message == "'0-5,4-7' lists logical shards 4-5 more than once; list each once, e.g. '0-7'"


def test_refuses_an_empty_range_string():
    message = only_refusal(with_(physical={"shard-a": "", "shard-b": "0-15"}))
    assert message == "'' lists no logical shards; write numbers and ranges like '0-7,12,14-15'"


@pytest.mark.parametrize(
    "name", ["Shard-a", "shard_a", "abc", "1shard", "shard-", "-shard", "s" * 31, "shard.a", "sh\u00e4rd"]
)
def test_refuses_a_physical_shard_name_firestore_would_reject(name: str):
    found = refusals(with_(physical={name: "0-7", "shard-b": "8-15"}))
    assert found == [
        (
            ("physical", name, "[key]"),
            f"{name!r} is not a valid physical shard name; use 4 to 30 characters of lowercase letters, "
            "digits and '-', starting with a letter and ending with a letter or digit (it becomes a "
            "Firestore database id), e.g. 'shard-a'",
        )
    ]


def test_accepts_physical_shard_names_at_the_length_limits():
    shard_map(10, {"abcd": "0-4", "s" * 30: "5-9"})


def test_refuses_an_invalid_tenant_physical_shard_name():
    found = refusals(with_(tenants={"acme": {"physical": "Tenant_Acme"}}))
    assert [loc for loc, _ in found] == [("tenants", "acme", "physical")]
    assert found[0][1].startswith("'Tenant_Acme' is not a valid physical shard name;")


@pytest.mark.parametrize("tenant", ["Acme", "acme corp", "ac", "-acme", "acme-", "a" * 41, "acme_corp"])
def test_refuses_an_invalid_tenant_id(tenant: str):
    found = refusals(with_(tenants={tenant: {"physical": "tenant-x"}}))
    assert found == [
        (
            ("tenants", tenant, "[key]"),
            f"{tenant!r} is not a valid tenant id; use 3 to 40 characters of lowercase letters, digits "
            "and '-', starting and ending with a letter or digit, e.g. 'acme-insurance'",
        )
    ]


def test_refuses_a_tenant_on_a_physical_shard_that_holds_consumer_shards():
    found = refusals(with_(tenants={"acme": {"physical": "shard-a"}}))
    assert found == [
        (
            ("tenants", "acme", "physical"),
            "tenant acme's physical shard 'shard-a' also holds consumer shards; "
            "a tenant needs a dedicated physical shard, e.g. 'tenant-acme'",
        )
    ]


def test_refuses_two_tenants_sharing_one_physical_shard():
    found = refusals(
        with_(tenants={"acme": {"physical": "tenant-shared"}, "globex": {"physical": "tenant-shared"}})
    )
    assert found == [
        (
            ("tenants",),
            "physical shard 'tenant-shared' is used by tenants acme and globex; "
            "each tenant needs its own physical shard",
        )
    ]


def test_refuses_an_unknown_key_in_the_map():
    found = refusals(with_(replicas=2))
    assert [(loc, msg) for loc, msg in found] == [(("replicas",), "Extra inputs are not permitted")]


def test_refuses_an_unknown_key_in_a_tenant():
    found = refusals(with_(tenants={"acme": {"physical": "tenant-acme", "region": "eu"}}))
    assert [loc for loc, _ in found] == [("tenants", "acme", "region")]


def test_reports_every_problem_at_once_each_at_its_key():
    found = refusals(
        {
            "logical": 16,
            "physical": {"shard-a": "0-7", "shard-b": "7-15,16"},
            "tenants": {"acme": {"physical": "shard-a"}},
        }
    )
    assert [loc for loc, _ in found] == [
        ("physical", "shard-b"),
        ("physical",),
        ("tenants", "acme", "physical"),
    ]


def test_errors_carry_the_key_path_of_the_enclosing_config():
    class Cell(BaseModel):
        shards: ShardMap

    with pytest.raises(ValidationError) as caught:
        Cell.model_validate({"shards": with_(tenants={"acme": {"physical": "shard-b"}})})
    assert [e["loc"] for e in caught.value.errors()] == [("shards", "tenants", "acme", "physical")]


# --- the rebalance planner -----------------------------------------------------------------------


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
    monkeypatch.setattr(sharding, "DEFAULT_SAMPLE_SIZE", 5_000)  # the full 100k takes seconds
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
