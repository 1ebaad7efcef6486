"""The key and the jump hash: the part every language must reproduce (docs/sharding.md).

key     = SHA-256(UTF-8 bytes of the UserID)[0:8], read as a big-endian unsigned 64-bit int
logical = jump_hash(key, logical count)   # Lamping & Veach 2014, the paper's C++, bit for bit
"""

from __future__ import annotations

import hashlib
import struct

from cells.core.sharding.errors import InvalidUserIdError

ALGORITHM = "sha256-be64+jump"

_sha256 = hashlib.sha256
_be_uint64 = struct.Struct(">Q").unpack_from


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
