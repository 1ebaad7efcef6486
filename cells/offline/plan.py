"""The offline plan: the real program run under Pulumi's mock engine, recorded as plain data.

`record_plan(stack)` runs the same `cells.infra.program.main` that `pulumi up` runs, with the stack's own
config, against a recording monitor. Every registered resource becomes a `PlannedResource` (type,
name, parent, provider, resolved region, protect, retainOnDelete, wire-name inputs with secrets
masked). Tests and `python -m cells plan` read that data instead of chaining `Output.apply`.
The mock engine that answers the program (outputs per resource type, invokes, the recording
monitor) is `cells/offline/mocks.py`.

Mock pitfalls designed out here and in `mocks.py`, once for everyone: mocks are installed per run (never at import),
`preview=False` so outputs are known, the runtime is reset between runs, stack outputs are awaited,
invokes return `(dict, [])`, and a duplicate URN (which the real engine rejects and mocks accept) is
an error.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cells.core.config.stack_files import PROJECT_ROOT, read_stack_file
from cells.core.errors import ConfigError

SECRET_MASK = "[secret]"


class PlanError(Exception):
    """The program ran but produced something the real engine would reject."""


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    region: str | None
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    custom: bool
    aliases: tuple[str, ...] = ()
    # What the mock engine answered (ids, ARNs, names): lets rules join a reference to its resource.
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cloud(self) -> str:
        pkg = self.type.split(":")[0]
        if pkg == "pulumi" and self.type.startswith("pulumi:providers:"):
            return self.type.split(":")[2]
        return pkg if self.custom else "component"

    @property
    def module(self) -> str:
        parts = self.type.split(":")
        return parts[1].split("/")[0] if len(parts) > 2 else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "provider": self.provider,
            "region": self.region,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "inputs": self.inputs,
        }


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    violations: list[dict[str, str]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_suffix: str = "") -> PlannedResource:
        found = [r for r in self.of_type(type_) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named *{name_suffix}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children_of(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def cloud_resources(self) -> Iterator[PlannedResource]:
        """Resources a cloud provider manages (not components, not provider instances)."""
        return (r for r in self.resources if r.custom and not r.type.startswith("pulumi:"))

    def counts(self, key: Callable[[PlannedResource], Any]) -> Counter:
        return Counter(key(r) for r in self.cloud_resources())

    def to_json(self, by_urn: bool = False) -> dict[str, Any]:
        """Plain data in registration order (a resource after those it reads: the scan's translation
        relies on it); `by_urn` sorts instead, so two runs give the same bytes (the order the engine
        registers resources in varies from run to run)."""
        resources = sorted(self.resources, key=lambda r: r.urn) if by_urn else self.resources
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_json() for r in resources],
            "outputs": self.outputs,
            "violations": self.violations,
        }


def project_name(root: Path = PROJECT_ROOT) -> str:
    return yaml.safe_load((root / "Pulumi.yaml").read_text())["name"]


def record_plan(
    stack: str,
    root: Path = PROJECT_ROOT,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    program: Callable[[], object] | None = None,
) -> Plan:
    """Run the program for `stack` under mocks and return what it would build.

    `stack_outputs` feeds StackReferences (fully qualified name -> outputs). When not given and the
    stack reads the global stack, the global stack is planned first, offline, and its outputs used.
    `program` replaces the real program (component tests); the stack's config is still loaded.
    """
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from cells.infra import program as real_program
    from cells.offline.mocks import MyarkMocks, make_monitor

    sf = read_stack_file(stack, root)
    if stack_outputs is None:
        # Refuse bad config for this stack before planning the stacks it reads, so the message
        # names this stack's file.
        from cells.core.fleet import load_fleet

        try:
            load_fleet(root, focus=stack)
        except ConfigError as exc:
            exc.registered = 0  # type: ignore[attr-defined]
            raise
        stack_outputs = _referenced_outputs(sf.values, root)
    errors: list[str] = []
    mocks = MyarkMocks(stack_outputs)
    monitor = make_monitor(mocks, errors)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(root), stack=stack, preview=False, monitor=monitor
    )
    runtime_settings: Any = settings.SETTINGS
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in sf.values.items()},
        list(sf.secret_keys),
    )

    def run() -> None:
        if program is not None:
            program()
        else:
            real_program.main(root)

    try:
        _sync_await(run_pulumi_func(run))
    except ConfigError as exc:
        exc.registered = len(monitor.records)  # type: ignore[attr-defined]
        raise
    if errors:
        raise PlanError("; ".join(errors))
    root_resource = settings.get_root_resource()
    outputs = _resolve_outputs(getattr(root_resource, "outputs", {}) or {}, _sync_await)
    return Plan(project=project_name(root), stack=stack, resources=monitor.records, outputs=outputs)


def _resolve_outputs(outputs: dict[str, Any], sync_await) -> dict[str, Any]:
    import pulumi

    from cells.offline.mocks import unwrap

    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        secret = sync_await(out.is_secret())
        resolved[key] = SECRET_MASK if secret else unwrap(sync_await(out.future()))
    return resolved


_GLOBAL_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def _referenced_outputs(values: Mapping[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """A cell reads the global stack: plan that stack offline and hand its outputs over."""
    ref = values.get("myark:globalStack")
    if not isinstance(ref, str):
        return {}
    target = ref.rsplit("/", 1)[-1]
    key = (str(root), target)
    if key not in _GLOBAL_CACHE:
        _GLOBAL_CACHE[key] = record_plan(target, root, stack_outputs={}).outputs
    return {ref: _GLOBAL_CACHE[key]}
