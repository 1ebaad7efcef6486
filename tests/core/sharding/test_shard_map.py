"""The validated shard map: lookups, the published document, and each refusal (cells/core/sharding/shard_map.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from shard_support import shard_map

from cells.core.sharding.errors import InvalidUserIdError, ShardMapError, UnknownTenantError
from cells.core.sharding.key import ALGORITHM
from cells.core.sharding.ranges import format_ranges
from cells.core.sharding.shard_map import ShardMap

USER_IDS = st.text(min_size=1, max_size=40)


def refusals(config: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Validate a config that must be refused; return each error's (loc, message)."""
    with pytest.raises(ValidationError) as caught:
        ShardMap.model_validate(config)
    return [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in caught.value.errors()]


def only_refusal(config: dict[str, Any]) -> str:
    found = refusals(config)
    assert len(found) == 1, found
    return found[0][1]


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
