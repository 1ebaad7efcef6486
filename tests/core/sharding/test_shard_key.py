"""The key and the jump hash: stable keys, jump hash properties (cells/core/sharding/key.py)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.core.sharding.errors import InvalidUserIdError, ShardMapError
from cells.core.sharding.key import jump_hash, shard_key

KEYS = st.integers(min_value=0, max_value=2**64 - 1)
# Chi-square critical values at p = 0.001 for n - 1 degrees of freedom (standard tables).
CHI2_P001 = {10: 27.88, 32: 61.10, 50: 85.35}


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
