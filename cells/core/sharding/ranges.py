"""Range strings: "0-7,12,14-15" <-> frozenset, the way a shard map lists logical shards."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_RANGE_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")
_RANGE_EXAMPLE = "'0-7,12,14-15'"


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
