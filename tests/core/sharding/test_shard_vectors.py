"""The published test vectors: every value recomputed twice, and checked against values published elsewhere.

A second, deliberately plain implementation lives here (explicit 64-bit masks, byte-by-byte key),
so a bug in the fast one in cells.core.sharding.key cannot agree with itself and pass.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.core.sharding.key import ALGORITHM, jump_hash, shard_key
from cells.core.sharding.vectors import DEFAULT_VECTORS_PATH, VECTOR_BUCKET_COUNTS, render_vectors

ROOT = Path(__file__).resolve().parents[3]
VECTORS: dict[str, Any] = json.loads(DEFAULT_VECTORS_PATH.read_text(encoding="ascii"))
CASES = VECTORS["cases"]
U64 = 0xFFFFFFFFFFFFFFFF

# Jump hash outputs published by other implementations of the paper's C++ (key, buckets, bucket).
PUBLISHED_JUMP_VALUES = [
    # ClickHouse tests/queries/0_stateless/00580_consistent_hashing_functions (.sql and .reference)
    (1, 1, 0),
    (42, 57, 43),
    (256, 1024, 520),
    (3735883980, 1, 0),
    (3735883980, 666, 361),
    (16045690984833335023, 255, 237),
    # Rust crate jump-consistent-hash, doc tests of `hash`
    (0, 60, 0),
    (1, 60, 55),
    (2, 60, 46),
]


def reference_key(user_id: str) -> int:
    digest = hashlib.sha256(user_id.encode("utf-8")).digest()
    key = 0
    for byte in digest[:8]:  # big-endian: the first byte is the most significant
        key = (key << 8) | byte
    return key


def reference_jump(key: int, buckets: int) -> int:
    """Line by line the paper's C++, with uint64_t's wrap-around written out."""
    key &= U64
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & U64
        j = int(float(b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


@pytest.mark.parametrize(("key", "buckets", "bucket"), PUBLISHED_JUMP_VALUES)
def test_jump_hash_matches_values_published_by_other_implementations(key: int, buckets: int, bucket: int):
    assert reference_jump(key, buckets) == bucket
    assert jump_hash(key, buckets) == bucket


@given(key=st.integers(min_value=0, max_value=U64), buckets=st.integers(min_value=1, max_value=2**31 - 1))
def test_fast_jump_hash_agrees_with_the_plain_reference(key: int, buckets: int):
    assert jump_hash(key, buckets) == reference_jump(key, buckets)


@given(user_id=st.text(min_size=1))
def test_fast_shard_key_agrees_with_the_plain_reference(user_id: str):
    assert shard_key(user_id) == reference_key(user_id)


def test_the_vectors_describe_the_algorithm():
    assert VECTORS["algorithm"] == ALGORITHM == "sha256-be64+jump"
    assert VECTORS["bucket_counts"] == list(VECTOR_BUCKET_COUNTS) == [1, 2, 10, 16, 32, 50, 1000]
    for words in ("SHA-256", "UTF-8", "big-endian", "first 8 bytes", "no Unicode normalisation"):
        assert words in VECTORS["description"]
    assert "2862933555777941757ULL" in VECTORS["jump_hash_cpp"]


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_each_id_has_the_key_and_shards_both_implementations_compute(case: dict[str, Any]):
    user_id = case["id"]
    assert bytes.fromhex(case["utf8_hex"]) == user_id.encode("utf-8")
    key = reference_key(user_id)
    assert case["key"] == str(key)
    assert case["key_hex"] == f"{key:016x}"
    assert shard_key(user_id) == key
    assert set(case["shard"]) == {str(n) for n in VECTOR_BUCKET_COUNTS}
    for buckets, shard in case["shard"].items():
        assert reference_jump(key, int(buckets)) == shard, buckets
        assert jump_hash(key, int(buckets)) == shard, buckets


def test_each_jump_case_matches_both_implementations():
    assert len(VECTORS["jump_cases"]) >= 80
    for case in VECTORS["jump_cases"]:
        key = int(case["key"])
        assert int(case["key_hex"], 16) == key
        assert reference_jump(key, case["buckets"]) == case["bucket"] == jump_hash(key, case["buckets"]), case


def exact_integer_jump(key: int, buckets: int) -> int:
    """A tempting port: (b + 1) * 2**31 // r in exact integers instead of the C++'s doubles."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & U64
        j = (b + 1) * 2**31 // ((key >> 33) + 1)
    return b


def guava_style_jump(key: int, buckets: int) -> int:
    """Guava's Hashing.consistentHash arithmetic: (b + 1) / (r / 2**31), a single rounding."""
    candidate = 0
    while True:
        key = (key * 2862933555777941757 + 1) & U64
        following = int((candidate + 1) / (((key >> 33) + 1) / 2147483648.0))
        if not 0 <= following < buckets:
            return candidate
        candidate = following


@pytest.mark.parametrize("wrong", [exact_integer_jump, guava_style_jump])
def test_the_jump_cases_catch_ports_with_other_arithmetic(wrong: Any):
    wrong_cases = [c for c in VECTORS["jump_cases"] if wrong(int(c["key"]), c["buckets"]) != c["bucket"]]
    assert len(wrong_cases) >= 3, "the vectors would let this port through"
    # It is only these rare keys: on the published values it agrees.
    assert all(wrong(key, buckets) == bucket for key, buckets, bucket in PUBLISHED_JUMP_VALUES)


def test_the_ids_cover_the_encodings_other_languages_get_wrong():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    assert any(any(ord(ch) > 0xFFFF for ch in i) for i in ids), "an astral (emoji) character"
    assert any(any(unicodedata.combining(ch) for ch in i) for i in ids), "a combining character"
    assert any("\x00" in i for i in ids), "a NUL byte"
    assert any(len(i.encode()) > 1000 for i in ids), "a long id"
    assert any(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", i) for i in ids), "a UUID"
    assert {55, 56, 64} <= {len(i.encode()) for i in ids}, "SHA-256 padding boundaries"
    keys = {c["id"]: c["key"] for c in CASES}
    assert keys["caf\u00e9"] != keys["cafe\u0301"], "NFC and NFD spellings must differ"


def test_the_committed_vectors_are_up_to_date():
    assert DEFAULT_VECTORS_PATH.read_text(encoding="ascii") == render_vectors(), (
        "cells/core/shard_vectors.json is stale; run: python -m cells shard-vectors"
    )


def test_the_vectors_command_writes_the_committed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "vectors.json"
    from cells.cli.main import main

    assert main(["shard-vectors", str(target)]) == 0
    assert target.read_bytes() == DEFAULT_VECTORS_PATH.read_bytes()
    assert "wrote 44 id cases" in capsys.readouterr().out
    assert main(["shard-vectors", str(tmp_path / "missing-dir" / "v.json")]) == 2
    assert "shard-vectors PATH" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_reference_in_the_docs_reproduces_the_vectors(tmp_path: Path):
    docs = (ROOT / "docs" / "sharding.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```js\n(.*?)```", docs, flags=re.S)
    assert len(blocks) == 1, "docs/sharding.md should hold exactly one ```js reference block"
    (tmp_path / "shard.mjs").write_text(blocks[0], encoding="utf-8")
    (tmp_path / "check.mjs").write_text(
        """
import { readFileSync } from "node:fs";
import { shardKey, jumpHash } from "./shard.mjs";
const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const failures = [];
for (const c of doc.cases) {
  const key = await shardKey(c.id);
  if (key.toString() !== c.key) failures.push(`key of ${c.label}`);
  for (const [n, shard] of Object.entries(c.shard)) {
    if (jumpHash(key, Number(n)) !== shard) failures.push(`shard of ${c.label} at ${n}`);
  }
}
for (const c of doc.jump_cases) {
  if (jumpHash(BigInt(c.key), c.buckets) !== c.bucket) failures.push(`jump ${c.key} ${c.buckets}`);
}
console.log(failures.join("\\n"));
process.exit(failures.length ? 1 : 0);
""",
        encoding="utf-8",
    )
    run = subprocess.run(
        ["node", str(tmp_path / "check.mjs"), str(DEFAULT_VECTORS_PATH)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
