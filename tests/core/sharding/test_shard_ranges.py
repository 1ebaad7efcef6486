"""Range strings (cells/core/sharding/ranges.py); the map's refusals of bad ones are in test_shard_map."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cells.core.sharding.ranges import format_ranges, parse_ranges


@given(numbers=st.sets(st.integers(min_value=0, max_value=60), min_size=1))
def test_range_strings_round_trip(numbers: set[int]):
    assert parse_ranges(format_ranges(numbers)) == numbers


def test_format_ranges_joins_runs():
    assert format_ranges({15, 0, 1, 2, 3, 4, 5, 6, 7, 12, 14}) == "0-7,12,14-15"
