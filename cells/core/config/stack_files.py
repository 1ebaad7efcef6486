"""The stack files on disk: finding, reading (YAML, duplicate keys refused) and loading `Pulumi.<stack>.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cells.core.config.base import NAMESPACE
from cells.core.config.stack import StackSettings
from cells.core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackFile:
    """A stack file as written: plain values, and the keys held as secrets (`secure:`)."""

    stack: str
    path: Path
    values: dict[str, Any]
    secret_keys: frozenset[str]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys without a word; a stack file must not."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[arg-type]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1}); keep one", None
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_stack_file(stack: str, root: Path = PROJECT_ROOT) -> StackFile:
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(list_stacks(root)) or "none"
        raise ConfigError(f"unknown stack {stack!r}: no {path.name} in {root}; known stacks: {known}")
    try:
        doc = load_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: is not valid YAML: {exc}".replace("\n", " ")) from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path.name}: has no `config:` mapping; start it with config: and {NAMESPACE}: keys"
        )
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.add(key)
            # Ciphertext cannot be decrypted without the CLI; the plan only needs to know it is secret.
            values[key] = "[secret]"
        else:
            values[key] = value
    return StackFile(stack=stack, path=path, values=values, secret_keys=frozenset(secrets))


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> StackSettings:
    """One stack, validated with the zones of its fleet (a cell's zone comes from the global stack)."""
    from cells.core.fleet import load_fleet

    read_stack_file(stack, root)  # an unknown stack: say which exist
    return load_fleet(root, focus=stack).stack(stack)


def list_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
