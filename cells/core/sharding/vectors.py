"""Test vectors for other languages: `cells/core/shard_vectors.json` (`python -m cells shard-vectors`).

Services in other languages prove they agree with `shard_key` and `jump_hash` by recomputing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cells.core.sharding.key import ALGORITHM, jump_hash, shard_key

VECTOR_BUCKET_COUNTS = (1, 2, 10, 16, 32, 50, 1000)
DEFAULT_VECTORS_PATH = Path(__file__).parents[1] / "shard_vectors.json"

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
