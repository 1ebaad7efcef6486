"""One stack's config, from the Pulumi runtime or a stack file, validated into a `StackSettings`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from cells.core.config.base import NAMESPACE
from cells.core.config.messages import namespace_error, one_error
from cells.core.config.stack import SECRET_KEYS, StackConfig, StackSettings
from cells.core.errors import ConfigError
from cells.core.regions import Zone


def parse_stack(
    stack: str,
    raw: Mapping[str, Any],
    secret_keys: set[str],
    file: str,
    zones: Mapping[str, Zone] | None = None,
    global_file: str = "the global stack file",
) -> StackSettings:
    """Validate one stack's config (already decoded: objects as dicts) into a StackSettings.

    `zones` are the fleet's residency zones (from its global stack file); a cell needs them.
    """
    ours: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise ConfigError(f"{file}: {key!r}: a config key must be text, like {NAMESPACE}:kind")
        error = namespace_error(file, key, stack)
        if error:
            raise ConfigError(error)
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
        else:
            foreign[key] = value
    for name in SECRET_KEYS:
        if name in ours and f"{NAMESPACE}:{name}" not in secret_keys:
            raise ConfigError(
                f"{file}: {NAMESPACE}:{name}: is plain text; it must be a secret. Remove it and run "
                f"`pulumi config set --secret {NAMESPACE}:{name} <value> -s {stack}`"
            )
    # A block of the other kind of stack: one line, not one per key inside it.
    kind = ours.get("kind")
    if kind == "global" and "cell" in ours:
        raise ConfigError(
            f"{file}: {NAMESPACE}:cell: belongs in cell stacks only; remove it from this global stack"
        )
    if kind == "cell" and "global" in ours:
        raise ConfigError(
            f"{file}: {NAMESPACE}:global: belongs in the global stack only; remove it from this cell stack"
        )
    try:
        config = StackConfig.model_validate(
            ours, context={"zones": zones, "global_file": global_file} if zones is not None else None
        )
    except ValidationError as exc:
        raise ConfigError(one_error(file, exc.errors())) from None
    aws_region = foreign.get("aws:region")
    if config.cell and aws_region and aws_region != config.cell.region:
        raise ConfigError(
            f"{file}: aws:region: {aws_region} contradicts {NAMESPACE}:cell.region {config.cell.region}; "
            "remove aws:region (the cell's region decides) or make them equal"
        )
    return StackSettings(stack=stack, file=file, config=config, foreign=foreign)


def decode_value(value: Any) -> Any:
    """Runtime config values are strings; structured ones are JSON."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
