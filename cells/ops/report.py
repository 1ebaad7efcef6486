"""Output of the live tools: aligned text tables for people, JSON files for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from cells.core.errors import write_output


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is never padded (long details wrap)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write_json(path: str, data: Any) -> None:
    """Write `data` to PATH, or to stdout when PATH is `-`."""
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    write_output(path, text)
