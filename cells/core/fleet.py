"""The fleet view: every `Pulumi.*.yaml` read together, and the rules that span stacks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from cells.core.config.base import NAMESPACE, did_you_mean
from cells.core.config.parse import parse_stack
from cells.core.config.stack import StackSettings
from cells.core.config.stack_files import PROJECT_ROOT, list_stacks, read_stack_file
from cells.core.errors import ConfigError
from cells.core.regions import Residency, Zone, use_residency


@dataclass(frozen=True)
class Fleet:
    stacks: tuple[StackSettings, ...]
    # The residency zones of the fleet, from its global stack file (`myark:global.zones`).
    residency: Residency

    @property
    def zones(self) -> Mapping[str, Zone]:
        return self.residency.zones

    @property
    def cells(self) -> list[StackSettings]:
        return [s for s in self.stacks if s.config.kind == "cell"]

    @property
    def global_stack(self) -> StackSettings:
        return next(s for s in self.stacks if s.config.kind == "global")

    def stack(self, name: str) -> StackSettings:
        return next(s for s in self.stacks if s.stack == name)

    def stack_of_cell(self, cell: str) -> StackSettings:
        return next(s for s in self.cells if s.cell.name == cell)

    def cells_in_zone(self, zone: str) -> list[StackSettings]:
        return [s for s in self.cells if s.cell.zone == zone]


def load_fleet(root: Path = PROJECT_ROOT, focus: str | None = None) -> Fleet:
    """Read and validate every stack file, then the rules between them.

    The global stack file is read first: it declares the residency zones every cell is placed in.
    `focus` is the stack being run: its own mistakes are reported first; in the rules between
    stacks it comes last, so a conflict names its file. A mistake in another file (a stack file
    still being written) stops this plan too, with a message that starts with that file's name.
    On success the fleet's zones become the ones `cells.core.regions.ZONES` serves.
    """
    names = sorted(list_stacks(root), key=lambda n: n != focus)
    if not names:
        raise ConfigError(
            f"fleet: no Pulumi.<stack>.yaml beside Pulumi.yaml in {root}; add the global stack's"
        )

    def wip(name: str, exc: ConfigError) -> ConfigError:
        if focus is None or name == focus:
            return exc
        return ConfigError(
            f"{exc} (every plan reads the whole fleet: fix Pulumi.{name}.yaml, or move it out of the "
            f"project while it is a draft, to plan {focus})"
        )

    files = {}
    for name in names:
        try:
            files[name] = read_stack_file(name, root)
        except ConfigError as exc:
            raise wip(name, exc) from None
    kinds = {name: sf.values.get(f"{NAMESPACE}:kind") for name, sf in files.items()}
    for name, kind in kinds.items():
        if kind not in ("cell", "global"):
            try:  # the stack's own message for a missing or misspelt kind
                parse_stack(name, files[name].values, set(files[name].secret_keys), files[name].path.name, {})
            except ConfigError as exc:
                raise wip(name, exc) from None
    globals_ = [name for name, kind in kinds.items() if kind == "global"]
    if len(globals_) != 1:
        listed = ", ".join(files[n].path.name for n in (globals_ or sorted(files)))
        found = f"found {len(globals_)} ({listed})" if globals_ else f"found none among {listed}"
        raise ConfigError(
            f"fleet: {NAMESPACE}:kind: exactly one stack file must set {NAMESPACE}:kind: global (it declares "
            f"the zones and the edge every cell uses); {found}"
        )
    glob_file = files[globals_[0]]
    try:
        glob = parse_stack(globals_[0], glob_file.values, set(glob_file.secret_keys), glob_file.path.name)
    except ConfigError as exc:
        raise wip(globals_[0], exc) from None
    residency = glob.config.global_spec.residency()
    parsed = {globals_[0]: glob}
    for name, sf in files.items():
        if name in parsed:
            continue
        try:
            parsed[name] = parse_stack(
                name, sf.values, set(sf.secret_keys), sf.path.name, residency.zones, glob.file
            )
        except ConfigError as exc:
            raise wip(name, exc) from None
    ordered = sorted(parsed, key=lambda n: (n == focus, n))
    fleet = Fleet(tuple(parsed[n] for n in ordered), residency)
    check_fleet(fleet, root)
    use_residency(residency)
    return fleet


def _free_range(taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    for second in range(0, 256, 16):
        candidate = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    return "a /16 inside 172.16.0.0/12"


def _project(root: Path) -> str | None:
    try:
        doc = yaml.safe_load((root / "Pulumi.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return doc.get("name") if isinstance(doc, dict) else None


def _check_incoming_tenants(fleet: Fleet, homes: dict[str, str]) -> None:
    """A tenant in transit: declared with `movingFrom: <home>` in exactly one other cell of its zone."""
    by_name = {s.cell.name: s for s in fleet.cells}
    incoming: dict[str, str] = {}
    for s in fleet.cells:
        for tenant, home in s.cell.shards.tenants.items():
            source = home.moving_from
            if source is None:
                continue
            where = f"{s.file}: {NAMESPACE}:cell.shards.tenants.{tenant}.movingFrom"
            if source not in by_name:
                raise ConfigError(
                    f"{where}: {source!r} is not a cell of the fleet{did_you_mean(source, by_name)}; "
                    f"cells: {', '.join(sorted(by_name))}"
                )
            if homes.get(tenant) != source:
                actual = (
                    f"its home is cell {homes[tenant]}" if tenant in homes else "no cell declares it as home"
                )
                raise ConfigError(
                    f"{where}: cell {source} does not declare tenant {tenant} ({actual}); movingFrom names the "
                    "cell the tenant lives in, which keeps declaring it until the move is cleaned up"
                )
            src_zone = by_name[source].cell.zone
            if s.cell.zone != src_zone:
                raise ConfigError(
                    f"{where}: cell {s.cell.name} is in zone {s.cell.zone!r} and the tenant's home {source} in "
                    f"zone {src_zone!r}; a tenant moves only between cells of its residency zone"
                )
            if tenant in incoming:
                raise ConfigError(
                    f"{where}: tenant {tenant} is already moving to cell {incoming[tenant]}; one target at a "
                    "time (remove movingFrom from one of them)"
                )
            incoming[tenant] = s.cell.name


def _check_global_stack_ref(s: StackSettings, glob: StackSettings, fleet: Fleet, root: Path) -> None:
    """`myark:globalStack` must name this project and the fleet's global stack, as the real
    StackReference resolves it (org/project/stack); the offline plan reads only the file."""
    ref = s.config.global_stack or ""
    org, project, stack = ref.split("/")
    key = f"{s.file}: {NAMESPACE}:globalStack"
    expected = f"{org}/{_project(root) or project}/{glob.stack}"
    named = next((o for o in fleet.stacks if o.stack == stack), None)
    if stack != glob.stack:
        what = (
            f"names {named.file}, a {named.config.kind} stack"
            if named
            else f"names stack {stack!r}, which has no Pulumi.{stack}.yaml here"
        )
        raise ConfigError(f"{key}: {ref} {what}; the fleet's global stack is {glob.file}: write {expected}")
    wanted = _project(root)
    if wanted is not None and project != wanted:
        raise ConfigError(
            f"{key}: {ref} names project {project!r} but Pulumi.yaml's project is {wanted!r}; write {expected}"
        )


def check_fleet(fleet: Fleet, root: Path = PROJECT_ROOT) -> None:
    """Raise ConfigError on the first rule of the fleet a stack file breaks (naming the files)."""
    glob = fleet.global_stack
    seen_names: dict[str, str] = {}
    seen_projects: dict[str, str] = {}
    seen_nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, StackSettings]] = []
    tenants: dict[str, str] = {}
    for s in fleet.cells:
        cell = s.cell
        _check_global_stack_ref(s, glob, fleet, root)
        if cell.name in seen_names:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:cell.name: {cell.name!r} is already the name of the cell in "
                f"{seen_names[cell.name]}; cell names must be unique across the fleet"
            )
        seen_names[cell.name] = s.file
        if cell.gcp.project in seen_projects:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:cell.gcp.project: {cell.gcp.project} is already the project of "
                f"{seen_projects[cell.gcp.project]}; each cell needs its own GCP project (its Firestore "
                f"databases and location constraint are the cell's), e.g. myark-{cell.name}"
            )
        seen_projects[cell.gcp.project] = s.file
        net = ipaddress.ip_network(cell.network.cidr)
        for other_net, other in seen_nets:
            if net.overlaps(other_net):
                free = _free_range([n for n, _ in seen_nets] + [net])
                raise ConfigError(
                    f"{s.file}: {NAMESPACE}:cell.network.cidr: {net} overlaps cell {other.cell.name} "
                    f"({other_net}, {other.file}). Pick a range outside {other_net}, e.g. {free}."
                )
        seen_nets.append((net, s))
        if s.config.domain != glob.config.domain:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:domain: {s.config.domain} differs from {glob.config.domain} in "
                f"{glob.file}; every stack of the fleet serves one domain"
            )
        for name, value in s.config.edge.model_dump(by_alias=True).items():
            expected = getattr(glob.config.edge, _field(name))
            if value != expected:
                raise ConfigError(
                    f"{s.file}: {NAMESPACE}:edge.{name}: {value} differs from {expected} in {glob.file}; "
                    "a cell registers with the fleet's one edge, so every stack's edge settings are the same"
                )
        for tenant, home in cell.shards.tenants.items():
            if home.moving_from is not None:
                continue  # an incoming declaration: checked below, once every home is known
            if tenant in tenants:
                raise ConfigError(
                    f"{s.file}: {NAMESPACE}:cell.shards.tenants.{tenant}: tenant already has its home in "
                    f"cell {tenants[tenant]}; a tenant lives in exactly one cell (while it moves, declare it "
                    f"in the target cell with movingFrom: {tenants[tenant]})"
                )
            tenants[tenant] = cell.name
    _check_incoming_tenants(fleet, tenants)
    zones = [z for z in fleet.zones if fleet.cells_in_zone(z)]
    for zone in zones:
        defaults = [s for s in fleet.cells_in_zone(zone) if s.cell.default_for_zone]
        if len(defaults) != 1:
            files = ", ".join(s.file for s in defaults) or "none"
            cells = ", ".join(s.file for s in fleet.cells_in_zone(zone))
            raise ConfigError(
                f"fleet: {NAMESPACE}:cell.defaultForZone: zone {zone} needs exactly one default cell, "
                f"found {len(defaults)} ({files}); set defaultForZone: true in one of {cells} only"
            )
    for zone in zones:
        failovers = [s for s in fleet.cells_in_zone(zone) if s.cell.failover_for_zone]
        if len(failovers) > 1:
            raise ConfigError(
                f"{failovers[-1].file}: {NAMESPACE}:cell.failoverForZone: zone {zone} has "
                f"{len(failovers)} failover cells ({', '.join(s.cell.name for s in failovers)}); "
                "Route53 takes one SECONDARY per zone: keep it on one"
            )
    placement = glob.config.global_spec.placement
    for zone in zones:
        if zone not in placement:
            cells = {s.cell.name: 0 for s in fleet.cells_in_zone(zone)}
            default = next(s.cell.name for s in fleet.cells_in_zone(zone) if s.cell.default_for_zone)
            raise ConfigError(
                f"{glob.file}: {NAMESPACE}:global.placement.{zone}: zone {zone} has cells but no placement "
                f"weights, so its new users could not be placed; add e.g. {zone}: {{{default}: 100}} "
                f"(cells there: {', '.join(sorted(cells))})"
            )
    for zone, weights in placement.items():
        zone_cells = {s.cell.name for s in fleet.cells_in_zone(zone)}
        for name in weights:
            if name not in zone_cells:
                raise ConfigError(
                    f"{glob.file}: {NAMESPACE}:global.placement.{zone}.{name}: no cell {name!r} in zone "
                    f"{zone}; cells there: {', '.join(sorted(zone_cells)) or 'none'}"
                )


def _field(alias: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in alias)
