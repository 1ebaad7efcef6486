"""A bad stack file becomes one line: the file, the key path, what is wrong, what would be valid.

Pydantic reports every error; `one_error` picks the most useful (a misspelt key explains the
'missing' one beside it) and says where a key belongs when it sits at the wrong level.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from cells.core.config.base import FOREIGN_NAMESPACES, NAMESPACE, did_you_mean, model_in
from cells.core.config.stack import TOP_LEVEL_KEYS, StackConfig


def _format_error(file: str, err: Any, siblings_missing: list[str]) -> str:
    loc = [str(p) for p in err["loc"]]
    # A model validator reports at the model's own path; its message starts with the key below it.
    path = f"{NAMESPACE}:" + ".".join(loc) if loc else f"{NAMESPACE}"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = err["type"]
    if kind == "extra_forbidden":
        key, parent = loc[-1], loc[:-1]
        valid = _valid_keys(parent)
        hint = did_you_mean(key, siblings_missing) or did_you_mean(key, valid)
        homes = [h for h in _homes_of(key) if h != ".".join(parent)]
        if not hint and homes:
            hint = (
                f"; {key} belongs inside {NAMESPACE}:{homes[0]}" if homes[0] else f"; write {NAMESPACE}:{key}"
            )
        if not hint:  # a misspelling of a key that lives elsewhere
            paths = {p.rpartition(".")[2]: p.rpartition(".")[0] for p in reversed(_all_paths())}
            near = difflib.get_close_matches(key, list(paths), n=1, cutoff=0.6)
            if near:
                where = f"{NAMESPACE}:{paths[near[0]]}" if paths[near[0]] else "the top level"
                hint = f" (did you mean {near[0]!r}? it belongs inside {where})"
        msg = f"unknown key {key!r}{hint}; valid keys here: {', '.join(valid)}"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in {
        "int_parsing",
        "int_type",
        "bool_parsing",
        "bool_type",
        "string_type",
        "dict_type",
        "list_type",
    }:
        msg = f"got {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", msg)
        msg = f"got {err.get('input')!r}{did_you_mean(err.get('input'), choices)}; {msg[0].lower()}{msg[1:]}"
    elif kind == "string_pattern_mismatch":
        msg = f"got {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    # A model validator's message starts with the key it is about ("region: ...", "myark:cell: ...").
    head = re.match(r"([A-Za-z0-9_.:-]+): (.*)", msg)
    if kind not in {"extra_forbidden", "missing"} and head:
        key, msg = head[1], head[2]
        path = key if key.startswith(f"{NAMESPACE}:") else f"{path}.{key}" if loc else f"{NAMESPACE}:{key}"
    return " ".join(f"{file}: {path}: {msg}".split())


def _walk(path: list[str]) -> type[BaseModel] | None:
    """The model whose keys are valid at `path` (dict levels, e.g. a zone's name, skipped)."""
    annotation: Any = StackConfig
    for part in path:
        if get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
            continue
        model = model_in(annotation)
        fld = (
            next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
            if model
            else None
        )
        if fld is None:
            return None
        annotation = fld.annotation
    return model_in(annotation)


def _valid_keys(path: list[str]) -> list[str]:
    model = _walk(path)
    if model is None:
        return []
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _all_paths(
    model: type[BaseModel] | None = None, prefix: str = "", seen: frozenset = frozenset()
) -> list[str]:
    model = model or StackConfig
    out: list[str] = []
    for n, f in model.model_fields.items():
        key = f"{prefix}{f.alias or n}"
        out.append(key)
        sub = model_in(f.annotation)
        if sub is not None and sub not in seen:
            is_dict = "dict" in str(f.annotation)
            out += _all_paths(sub, f"{key}.<name>." if is_dict else f"{key}.", seen | {model})
    return out


def _homes_of(key: str) -> list[str]:
    """The parent paths under which `key` is a valid key ("" for the top level)."""
    return [p.rpartition(".")[0] for p in _all_paths() if p.rpartition(".")[2] == key]


def one_error(file: str, errors: list[Any]) -> str:
    """The single most useful line: a misspelt key explains the 'missing' one beside it."""
    missing: dict[tuple[str, ...], list[str]] = {}
    for e in errors:
        if e["type"] == "missing":
            missing.setdefault(tuple(map(str, e["loc"][:-1])), []).append(str(e["loc"][-1]))
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    best = extra[0] if extra else errors[0]
    parent = tuple(map(str, best["loc"][:-1]))
    return _format_error(file, best, missing.get(parent, []))


def namespace_error(file: str, key: str, stack: str) -> str | None:
    namespace, _, name = key.partition(":")
    if not name:
        homes = _homes_of(key)
        if "" in homes:
            return f"{file}: {key}: config keys are namespaced; write {NAMESPACE}:{key}"
        if homes:
            return (
                f"{file}: {key}: is not a config key; {key} belongs inside {NAMESPACE}:{homes[0]} "
                f"(indent it under {NAMESPACE}:{homes[0].split('.')[0]}:)"
            )
        return (
            f"{file}: {key}: config keys are namespaced and no {NAMESPACE} key is named {key!r}"
            f"{did_you_mean(key, TOP_LEVEL_KEYS)}; keys: {', '.join(f'{NAMESPACE}:{k}' for k in TOP_LEVEL_KEYS)}"
        )
    if namespace != NAMESPACE and namespace not in FOREIGN_NAMESPACES:
        known = (NAMESPACE, *FOREIGN_NAMESPACES)
        return (
            f"{file}: {key}: unknown namespace {namespace!r}{did_you_mean(namespace, known)}; this program reads "
            f"{', '.join(f'{n}:' for n in known)} (Pulumi would ignore the key)"
        )
    return None
