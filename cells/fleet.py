"""The fleet view: every `Pulumi.*.yaml` read together, and the rules that span stacks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cells.config import NAMESPACE, PROJECT_ROOT, ConfigError, StackSettings, list_stacks, load_stack


@dataclass(frozen=True)
class Fleet:
    stacks: tuple[StackSettings, ...]

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

    `focus` is the stack being run: read last, so a conflict between two stacks names its file.
    """
    names = sorted(list_stacks(root), key=lambda n: n == focus)
    fleet = Fleet(tuple(load_stack(name, root) for name in names))
    check_fleet(fleet)
    return fleet


def _free_range(taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    for second in range(0, 256, 16):
        candidate = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    return "a /16 inside 172.16.0.0/12"


def check_fleet(fleet: Fleet) -> None:
    """Raise ConfigError on the first rule of the fleet a stack file breaks."""
    globals_ = [s for s in fleet.stacks if s.config.kind == "global"]
    if len(globals_) != 1:
        files = ", ".join(s.file for s in globals_) or "none"
        raise ConfigError(
            f"fleet: {NAMESPACE}:kind: exactly one stack must be kind global; found {len(globals_)} ({files})"
        )
    glob = globals_[0]
    seen_names: dict[str, str] = {}
    seen_nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, StackSettings]] = []
    tenants: dict[str, str] = {}
    for s in fleet.cells:
        cell = s.cell
        if cell.name in seen_names:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:cell.name: {cell.name!r} is already the name of the cell in "
                f"{seen_names[cell.name]}; cell names must be unique across the fleet"
            )
        seen_names[cell.name] = s.file
        net = ipaddress.ip_network(cell.network.cidr)
        for other_net, other in seen_nets:
            if net.overlaps(other_net):
                free = _free_range([n for n, _ in seen_nets] + [net])
                raise ConfigError(
                    f"{s.file}: {NAMESPACE}:cell.network.cidr: {net} overlaps cell {other.cell.name} "
                    f"({other_net}). Pick a range outside {other_net}, e.g. {free}."
                )
        seen_nets.append((net, s))
        if s.config.domain != glob.config.domain:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:domain: {s.config.domain} differs from the global stack's "
                f"{glob.config.domain}; every stack of the fleet serves one domain"
            )
        if s.config.edge.provider != glob.config.edge.provider:
            raise ConfigError(
                f"{s.file}: {NAMESPACE}:edge.provider: {s.config.edge.provider} differs from the global "
                f"stack's {glob.config.edge.provider}; a cell registers with the fleet's one edge"
            )
        for tenant in cell.shards.tenants:
            if tenant in tenants:
                raise ConfigError(
                    f"{s.file}: {NAMESPACE}:cell.shards.tenants.{tenant}: tenant already has its home in "
                    f"cell {tenants[tenant]}; a tenant lives in exactly one cell"
                )
            tenants[tenant] = cell.name
    zones = sorted({s.cell.zone for s in fleet.cells})
    for zone in zones:
        defaults = [s for s in fleet.cells_in_zone(zone) if s.cell.default_for_zone]
        if len(defaults) != 1:
            names = ", ".join(s.cell.name for s in defaults) or "none"
            cells = ", ".join(s.cell.name for s in fleet.cells_in_zone(zone))
            raise ConfigError(
                f"fleet: {NAMESPACE}:cell.defaultForZone: zone {zone} needs exactly one default cell, "
                f"found {len(defaults)} ({names}); set defaultForZone: true on one of {cells}"
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
