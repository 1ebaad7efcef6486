"""The synthetic fleet: more than today's three stacks, planned in both edge modes against the
providers' rules (a second cell in each zone, the longest cell name, two cells in one region, an SCP
target). A cell name the config accepts must always yield names the services take."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cells.core.config.stack_files import PROJECT_ROOT, list_stacks
from cells.guardrails.provider_rules.registry import check_fleet_plans
from cells.guardrails.scan.runner import switch_to_cloudflare
from cells.offline.plan import record_plan

LB = "aws:lb/loadBalancer:LoadBalancer"
RECORD = "aws:route53/record:Record"

# awsScpTarget set; every stack in both edge modes.

LONG_EU = "eu-central-1-second-cell-abcdefg"  # 32 characters, the longest the config accepts
LONG_US = "us-east-1-second-cell-abcdefghij"


def _synthetic_fleet(root: Path, edge: str) -> list[str]:
    docs = {
        f.name: yaml.safe_load(f.read_text())
        for f in PROJECT_ROOT.glob("Pulumi*.yaml")
        if f.name != "Pulumi.yaml"
    }
    second = {
        LONG_EU: ("Pulumi.eu-central-1.yaml", "eu-central-1", "10.33.0.0/16"),  # same region as the default
        LONG_US: ("Pulumi.us-east-1.yaml", "us-west-2", "10.17.0.0/16"),
    }
    for name, (template, region, cidr) in second.items():
        doc = yaml.safe_load(yaml.safe_dump(docs[template]))
        cell = doc["config"]["myark:cell"]
        cell.update(name=name, region=region, defaultForZone=False, failoverForZone=True, pilot=False)
        cell["network"]["cidr"] = cidr
        cell["gcp"]["project"] = f"myark-{region}-b"
        cell["shards"].pop("tenants", None)
        docs[f"Pulumi.{name}.yaml"] = doc
    assert max(len(n) for n in second) == 32
    placement = docs["Pulumi.global.yaml"]["config"]["myark:global"]["placement"]
    placement["eu"] = {"eu-central-1": 90, LONG_EU: 10}
    placement["us"] = {"us-east-1": 90, LONG_US: 10}
    for fname, doc in docs.items():
        cfg = doc["config"]
        if cfg["myark:kind"] == "cell":
            cfg["myark:awsScpTarget"] = "ou-ab12-abcdefgh"
        if edge == "cloudflare":
            switch_to_cloudflare(cfg)
        (root / fname).write_text(yaml.safe_dump(doc, sort_keys=False))
    (root / "Pulumi.yaml").write_text((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return list_stacks(root)


@pytest.mark.parametrize("edge", ["route53", "cloudflare"])
def test_the_synthetic_fleet_plans_with_no_provider_rule_violation(tmp_path: Path, edge: str) -> None:
    stacks = _synthetic_fleet(tmp_path, edge)
    assert len(stacks) == 5
    plans = [record_plan(s, root=tmp_path) for s in stacks]
    assert [v.message() for v in check_fleet_plans(plans)] == []
    by_stack = {p.stack: p for p in plans}
    # Only each zone's default cell creates the zone's SCP; the failover roles are the ones config names.
    assert [p.stack for p in plans if p.of_type("aws:organizations/policy:Policy")] == [
        "eu-central-1",
        "us-east-1",
    ]
    if edge == "route53":
        roles = {
            p.stack: r.inputs["failoverRoutingPolicies"][0]["type"]
            for p in plans
            for r in p.of_type(RECORD)
            if r.inputs.get("failoverRoutingPolicies")
        }
        assert roles == {
            "eu-central-1": "PRIMARY",
            LONG_EU: "SECONDARY",
            "us-east-1": "PRIMARY",
            LONG_US: "SECONDARY",
        }
    lb = by_stack[LONG_EU].one(LB).inputs
    assert len(lb["name"]) <= 32
