"""Reading resource inputs the way the engine hands them: values that may be unknown-checking proxies,
JSON strings, one value where a list is allowed, numbers as doubles, or absent."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cells.core.naming import gcp_labels


def _get(value: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(value, Mapping) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, Sequence) and not isinstance(value, str) and isinstance(key, int):
            value = value[key] if -len(value) <= key < len(value) else None
        else:
            return None
    return value


def _items(value: Any) -> list[Any]:
    """A list input (None, one value, or a list) as a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _items(value) if isinstance(v, Mapping)]


def _int(value: Any) -> int | None:
    # The wire carries numbers as doubles (443.0).
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as JSON text or as an object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return _maps(_get(document, "Statement"))


def _type_parts(resource_type: str) -> tuple[str, str]:
    """`aws:s3/bucket:Bucket` -> ("aws", "s3")."""
    parts = resource_type.split(":")
    return parts[0], (parts[1].split("/")[0] if len(parts) > 2 else "")


def _arn_region(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return (parts[3] or None) if len(parts) > 3 and parts[0] == "arn" else None


def _label_key(tag: str) -> str:
    return next(iter(gcp_labels({tag: ""})))


def _label_value(value: str) -> str:
    return gcp_labels({"": value})[""]


def _tag(props: Mapping[str, Any], tag: str) -> Any:
    """A resource's own tag (AWS `tags`) or label (GCP `labels`, key in GCP's label alphabet)."""
    value = _get(props, "tags", tag)
    return value if value is not None else _get(props, "labels", _label_key(tag))
