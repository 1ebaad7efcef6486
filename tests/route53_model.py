"""A small model of how Route53 answers a query, run over the records the offline plan recorded.

It follows the Route53 Developer Guide, "Geolocation routing", "Failover routing" and "How Amazon
Route 53 chooses records when health checking is configured":

- geolocation: the most specific location that matches the client (country, else the default `*`
  record); a query no record matches gets no answer (NODATA). A chosen record that is unhealthy
  makes Route53 try the next larger location (here: `*`); if every candidate is unhealthy, Route53
  answers as if all were healthy (the most specific one).
- failover: the primary while healthy, else the secondary while healthy; both unhealthy: the
  primary.
- a record is unhealthy when its health check fails, or when it is an alias that evaluates target
  health and its target is unhealthy: a load balancer (modelled by its cell's health) or a record
  name of the hosted zone (unhealthy when every record of that name is).

Only the routing policies the program plans are modelled (no continents or subdivisions, no
weighted, latency or multivalue records): `load` refuses anything else rather than mis-model it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Record:
    name: str
    country: str | None  # geolocation country, "*" for the default
    failover: str | None  # PRIMARY | SECONDARY
    health_cell: str | None  # the cell whose health check the record carries
    target: str  # alias target name
    evaluate_target_health: bool


def load(stack_records: Iterable[tuple[list[dict[str, Any]], dict[str, str]]]) -> list[Record]:
    """Records of several stacks: per stack, the record inputs and its health check ids -> cell."""
    out = []
    for records, checks in stack_records:
        for r in records:
            policies = {k for k in r if k.endswith("RoutingPolicies")}
            if policies - {"geolocationRoutingPolicies", "failoverRoutingPolicies"}:
                raise ValueError(f"{r['name']}: routing policy not modelled: {policies}")
            if "aliases" not in r:
                continue  # plain records (certificate validation) do not route api traffic
            geo = r.get("geolocationRoutingPolicies", [{}])[0]
            if set(geo) - {"country"}:
                raise ValueError(f"{r['name']}: geolocation by {set(geo)} not modelled")
            alias = r["aliases"][0]
            out.append(
                Record(
                    name=r["name"].rstrip("."),
                    country=geo.get("country"),
                    failover=r.get("failoverRoutingPolicies", [{}])[0].get("type"),
                    health_cell=checks[r["healthCheckId"]] if r.get("healthCheckId") else None,
                    target=alias["name"].rstrip("."),
                    evaluate_target_health=bool(alias["evaluateTargetHealth"]),
                )
            )
    return out


class Route53:
    def __init__(self, records: list[Record], load_balancers: dict[str, str]):
        """`load_balancers`: alias target (a load balancer's DNS name) -> the cell it serves."""
        self.records = records
        self.load_balancers = load_balancers
        self.names = {r.name for r in records}

    def _group(self, name: str) -> list[Record]:
        return [r for r in self.records if r.name == name]

    def _target_healthy(self, target: str, healthy: Callable[[str], bool]) -> bool:
        if target in self.names:
            return any(self._record_healthy(r, healthy) for r in self._group(target))
        return healthy(self.load_balancers[target])

    def _record_healthy(self, r: Record, healthy: Callable[[str], bool]) -> bool:
        if r.health_cell is not None and not healthy(r.health_cell):
            return False
        return not r.evaluate_target_health or self._target_healthy(r.target, healthy)

    def _follow(self, r: Record, country: str, healthy: Callable[[str], bool]) -> str | None:
        if r.target in self.names:
            return self.resolve(r.target, country, healthy)
        return self.load_balancers[r.target]

    def resolve(self, name: str, country: str, healthy: Callable[[str], bool]) -> str | None:
        """The cell whose load balancer answers a query for `name` from `country`, or None."""
        group = self._group(name)
        if not group:
            return None
        if all(r.country is not None for r in group):
            exact = [r for r in group if r.country == country]
            default = [r for r in group if r.country == "*"]
            candidates = exact + default
            if not candidates:
                return None
        elif all(r.failover is not None for r in group):
            candidates = sorted(group, key=lambda r: r.failover != "PRIMARY")
        elif len(group) == 1:
            candidates = group
        else:
            raise ValueError(f"{name}: records of mixed routing policies")
        for r in candidates:
            if self._record_healthy(r, healthy):
                return self._follow(r, country, healthy)
        # every candidate unhealthy: Route53 answers as if all were healthy
        return self._follow(candidates[0], country, healthy)
