"""The config reference (docs/config.md), generated from the pydantic models: one source of truth.

`python -m cells docs` writes it to docs/config.md
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from cells.core.config.base import model_in
from cells.core.config.stack import StackConfig


def _type(field: Any) -> str:
    annotation = field.annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in args)
    elif get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        text = _type_name(args[0]) + " (optional)"
    else:
        text = _type_name(annotation)
    bounds = [
        f"{op} {getattr(m, attr)}"
        for m in field.metadata
        for attr, op in (("ge", "≥"), ("le", "≤"))
        if getattr(m, attr, None) is not None
    ]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    # Model classes by name only: cells.core.config.global_.ZoneSpec -> ZoneSpec.
    text = re.sub(r"\bcells\.core\.(?:config|sharding)\.(?:\w+\.)*", "", text)
    return text.replace("typing.", "").replace("|", "or")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return "" if field.default is None else f"`{field.default}`"
    if field.default_factory is not None:
        return "`{}`" if field.default_factory() == {} else "(defaults below)"
    return "**required**"


def _rows(model: type[BaseModel], prefix: str, out: list[str], seen: set[type]) -> None:
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        sub = model_in(field.annotation)
        out.append(f"| `{key}` | {_type(field)} | {_default(field)} | {field.description or ''} |")
        if sub is not None and sub not in seen:
            # Entries of a mapping are named by the user: `tenants.<name>.physical`.
            nested.append((f"{key}.<name>" if get_origin(field.annotation) is dict else key, sub))
    for key, sub in nested:
        seen.add(sub)
        _rows(sub, f"{key}.", out, seen)


def render() -> str:
    out = [
        "# Stack config reference",
        "",
        "Generated from the models in `cells/core/config/` by `python -m cells docs`; a test keeps it current.",
        "Every key lives under the `myark:` namespace of a `Pulumi.<stack>.yaml`.",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    _rows(StackConfig, "myark:", out, set())
    return "\n".join(out) + "\n"
