"""Shared helpers of the provider-rule tests (tests/guardrails/provider_rules/): small plans, and the
check that a theme's rules each have a case the service refuses and one it takes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cells.guardrails.provider_rules.registry import RULES, Rule
from cells.offline.plan import Plan, PlannedResource

LB = "aws:lb/loadBalancer:LoadBalancer"
RECORD = "aws:route53/record:Record"

# rule id -> (what the service refuses, what it takes); fleet rules get a list of plans.
Case = Callable[[], Any]
Cases = dict[str, tuple[Case, Case]]
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def rules_of(theme: ModuleType) -> set[str]:
    """The ids of the rules a theme module registers."""
    return {r.id for r in RULES if r.check.__module__ == theme.__name__}


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    region: str | None = "eu-central-1",
) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:s::p::{type_}::{name}",
        type=type_,
        name=name,
        parent=None,
        provider=None,
        region=region,
        protect=False,
        retain_on_delete=False,
        inputs=inputs,
        custom=True,
        outputs=outputs or {},
    )


def plan(*resources: PlannedResource, stack: str = "s", outputs: dict[str, Any] | None = None) -> Plan:
    return Plan(project="p", stack=stack, resources=list(resources), outputs=outputs or {})


def record(name: str, role: str | None = None, set_id: str = "") -> PlannedResource:
    inputs: dict[str, Any] = {"name": name, "type": "A", "setIdentifier": set_id}
    if role:
        inputs["failoverRoutingPolicies"] = [{"type": role}]
    return res(RECORD, f"r-{name}-{set_id}", inputs)


def assert_refused(rule_id: str, case: Case) -> None:
    found = list(BY_ID[rule_id].check(case()))
    assert found and {v.rule for v in found} == {rule_id}
    v = found[0]
    assert v.urn.startswith("urn:pulumi:") and v.value and v.allowed and v.origin


def assert_taken(rule_id: str, case: Case) -> None:
    assert list(BY_ID[rule_id].check(case())) == []


def case_tests(cases: Cases, theme: ModuleType) -> tuple[Callable[..., None], ...]:
    """The three tests every theme's test module runs over its `cases`: each rule of the theme has a
    case, each refused case is refused by exactly that rule with a full message, each taken one passes."""

    def test_every_rule_of_the_theme_has_a_failing_and_a_passing_case() -> None:
        assert set(cases) == rules_of(theme)

    @pytest.mark.parametrize("rule_id", sorted(cases))
    def test_rule_fails_on_what_the_service_refuses(rule_id: str) -> None:
        assert_refused(rule_id, cases[rule_id][0])

    @pytest.mark.parametrize("rule_id", sorted(cases))
    def test_rule_passes_what_the_service_takes(rule_id: str) -> None:
        assert_taken(rule_id, cases[rule_id][1])

    return (
        test_every_rule_of_the_theme_has_a_failing_and_a_passing_case,
        test_rule_fails_on_what_the_service_refuses,
        test_rule_passes_what_the_service_takes,
    )


# Config edits on a copy of the fleet (the `fleet_copy` fixture).


def edit(root: Path, stack: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def add_eu_cell(root: Path, name: str, cidr: str, **cell: Any) -> None:
    doc = yaml.safe_load((root / "Pulumi.eu-central-1.yaml").read_text())
    spec = doc["config"]["myark:cell"]
    spec.update(name=name, region="eu-west-1", defaultForZone=False, pilot=False, **cell)
    spec["network"]["cidr"] = cidr
    spec["gcp"]["project"] = f"myark-{name}"
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
