"""Fleet provider rules (cells/guardrails/provider_rules/fleet.py): what only the plans of every
stack together show; and the zone's failover roles, kept stable and refused when ambiguous."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from provider_rules_support import (
    Cases,
    add_eu_cell,
    case_tests,
    edit,
    plan,
    record,
    res,
)

from cells.guardrails.provider_rules import fleet as fleet_theme
from cells.guardrails.provider_rules.registry import check_fleet_plans, check_stack
from cells.offline.plan import PlannedResource


def _pool(project: str) -> PlannedResource:
    return res(
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "pool",
        {"project": project, "workloadIdentityPoolId": "myark-c"},
    )


CASES: Cases = {
    "dns-record-one-owner": (
        lambda: [plan(record("_v.api.x.io"), stack="a"), plan(record("_v.api.x.io"), stack="b")],
        lambda: [plan(record("_v.a.api.x.io"), stack="a"), plan(record("_v.b.api.x.io"), stack="b")],
    ),
    "route53-failover-roles": (
        lambda: [
            plan(record("eu.api.x.io", "SECONDARY", "a"), stack="a"),
            plan(record("eu.api.x.io", "SECONDARY", "b"), stack="b"),
        ],
        lambda: [
            plan(record("eu.api.x.io", "PRIMARY", "a"), stack="a"),
            plan(record("eu.api.x.io", "SECONDARY", "b"), stack="b"),
        ],
    ),
    "scp-name-unique": (
        lambda: [
            plan(res("aws:organizations/policy:Policy", "scp", {"name": "myark-residency-eu"}), stack="a"),
            plan(res("aws:organizations/policy:Policy", "scp", {"name": "myark-residency-eu"}), stack="b"),
        ],
        lambda: [
            plan(res("aws:organizations/policy:Policy", "scp", {"name": "myark-residency-eu"}), stack="a"),
            plan(res("aws:organizations/policy:Policy", "scp", {"name": "myark-residency-us"}), stack="b"),
        ],
    ),
    "gcp-id-unique": (
        lambda: [plan(_pool("proj-a"), stack="a"), plan(_pool("proj-a"), stack="b")],
        lambda: [plan(_pool("proj-a"), stack="a"), plan(_pool("proj-b"), stack="b")],
    ),
}


(
    test_every_rule_of_the_theme_has_a_failing_and_a_passing_case,
    test_rule_fails_on_what_the_service_refuses,
    test_rule_passes_what_the_service_takes,
) = case_tests(CASES, fleet_theme)


def test_stack_rules_alone_miss_what_only_the_fleet_shows(tmp_path: Path) -> None:
    """Two cells in a zone both claiming SECONDARY: each plan alone is clean, the fleet is not."""
    a = plan(record("eu.api.x.io", "SECONDARY", "a"), stack="a")
    b = plan(record("eu.api.x.io", "SECONDARY", "b"), stack="b")
    assert check_stack(a) == [] and check_stack(b) == []
    assert [v.rule for v in check_fleet_plans([a, b])] == ["route53-failover-roles"]


def test_adding_a_cell_never_moves_the_zone_failover(fleet_copy: Path) -> None:
    """The old rule (first non-default cell by name) would hand SECONDARY to `eu-a`, while the
    stack of `eu-west-1` still claimed it."""
    from cells.core.fleet import load_fleet
    from cells.infra.program import role_in_zone

    add_eu_cell(fleet_copy, "eu-west-1", "10.48.0.0/16", failoverForZone=True)
    before = role_in_zone(load_fleet(fleet_copy), "eu-west-1")
    add_eu_cell(fleet_copy, "eu-a", "10.64.0.0/16")
    fleet = load_fleet(fleet_copy)
    assert before == role_in_zone(fleet, "eu-west-1") == "secondary"
    assert role_in_zone(fleet, "eu-a") == "member" and role_in_zone(fleet, "eu-central-1") == "primary"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda root: edit(root, "eu-central-1", lambda c: c["myark:cell"].update(failoverForZone=True)),
            "the zone's default cell cannot also be its failover",
        ),
        (
            lambda root: [
                add_eu_cell(root, "eu-west-1", "10.48.0.0/16", failoverForZone=True),
                add_eu_cell(root, "eu-north-1", "10.64.0.0/16", failoverForZone=True),
            ],
            "zone eu has 2 failover cells",
        ),
    ],
)
def test_failover_config_is_refused_with_one_clear_message(
    fleet_copy: Path, change: Callable[[Path], Any], expected: str
) -> None:
    from cells.core.errors import ConfigError
    from cells.core.fleet import load_fleet

    change(fleet_copy)
    with pytest.raises(ConfigError) as err:
        load_fleet(fleet_copy)
    assert expected in str(err.value) and "Traceback" not in str(err.value)
