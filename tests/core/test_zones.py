"""Residency zones live in config: a new zone is a stack-file change, and every consumer follows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cells.cli.main import main as cli_main
from cells.core.config.cell import FARGATE_SIZES, LOG_RETENTION_DAYS
from cells.core.config.global_ import ISO_COUNTRIES
from cells.core.config.stack_files import read_stack_file
from cells.core.fleet import load_fleet
from cells.core.regions import (
    AWS_GLOBAL_MODULES,
    CLOUDFRONT_CERT_REGION,
    REGIONS,
    ZONES,
    default_zone,
    location_in_zone,
    use_residency,
)
from cells.core.residency_controls import aws_service_control_policy, gcp_allowed_locations
from cells.guardrails.policies.plan_check import check_plan
from cells.offline.plan import record_plan


@pytest.fixture(autouse=True)
def _project_zones_after() -> Iterator[None]:
    """A test here loads other fleets: give the next test the project's own zones back."""
    yield
    use_residency(None)


def _edit(root: Path, stack: str, change) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


AU = {
    "awsRegions": ["ap-southeast-2"],
    "countries": ["AU", "NZ"],
    "gcpLocationGroup": "in:australia-locations",
}


def _au_fleet(root: Path) -> None:
    """The repo's fleet plus an `au` zone and its cell, declared in the stack files only."""

    def global_(cfg: dict[str, Any]) -> None:
        cfg["myark:global"]["zones"]["au"] = AU
        cfg["myark:global"]["placement"]["au"] = {"ap-southeast-2": 100}

    _edit(root, "global", global_)
    (root / "Pulumi.ap-southeast-2.yaml").write_text((root / "Pulumi.eu-central-1.yaml").read_text())

    def cell(cfg: dict[str, Any]) -> None:
        c = cfg["myark:cell"]
        c.update(name="ap-southeast-2", region="ap-southeast-2", pilot=False)
        c["network"]["cidr"] = "10.64.0.0/16"
        c["gcp"]["project"] = "myark-ap-southeast-2"

    _edit(root, "ap-southeast-2", cell)


def test_a_new_zone_is_config_only_and_everything_follows_it(fleet_copy: Path) -> None:
    _au_fleet(fleet_copy)
    fleet = load_fleet(fleet_copy, focus="ap-southeast-2")
    assert fleet.stack("ap-southeast-2").cell.zone == "au"
    plan = record_plan("ap-southeast-2", root=fleet_copy)
    facts = REGIONS["ap-southeast-2"]
    au = ZONES["au"]
    assert au.gcp_locations == ("australia-southeast1",)
    placed = 0
    for r in plan.cloud_resources():
        module = r.type.split(":")[1].split("/")[0]
        if (
            r.type.startswith("aws:")
            and module not in AWS_GLOBAL_MODULES
            and r.region != CLOUDFRONT_CERT_REGION
            and r.inputs.get("scope") != "CLOUDFRONT"  # CloudFront's web ACL: global, like CloudFront
        ):
            assert r.region == "ap-southeast-2", r.urn
            placed += 1
        if r.type.startswith("gcp:") and r.region is not None:
            assert location_in_zone(r.region, "au"), (r.urn, r.region)
            placed += 1
        if "tags" in r.inputs:
            assert r.inputs["tags"]["myark:residency"] == "au", r.urn
    assert placed > 60
    dbs = plan.of_type("gcp:firestore/database:Database")
    assert dbs and {d.inputs["locationId"] for d in dbs} == {facts.firestore_location}
    # The SCP allows the zone's regions only; the GCP project is held to the zone's location group.
    scp = json.loads(plan.outputs["serviceControlPolicy"])
    assert scp["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["ap-southeast-2"]
    constraint = plan.one("gcp:orgpolicy/policy:Policy").inputs
    assert constraint["spec"]["rules"][0]["values"]["allowedValues"] == ["in:australia-locations"]
    # The zone's default cell answers its countries at the edge (Route53 geolocation).
    geo = {
        rec.inputs["geolocationRoutingPolicies"][0]["country"]
        for rec in plan.of_type("aws:route53/record:Record")
        if rec.inputs.get("geolocationRoutingPolicies")
    }
    assert geo == {"AU", "NZ"}
    # The policies know the zone: the plan passes, and a resource moved out of it is stopped.
    config = read_stack_file("ap-southeast-2", fleet_copy).values
    assert not [v for v in check_plan(plan, stack_config=config) if v["level"] == "mandatory"]
    bucket = plan.of_type("aws:s3/bucket:Bucket")[0]
    moved = {
        **bucket.__dict__,
        "region": "eu-central-1",
        "inputs": {**bucket.inputs, "region": "eu-central-1"},
    }
    moved = [r if r is not bucket else type(r)(**moved) for r in plan.resources]
    plan.resources[:] = moved
    stopped = [v for v in check_plan(plan, stack_config=config) if v["level"] == "mandatory"]
    assert any("outside residency zone 'au'" in v["message"] for v in stopped), stopped


def test_the_cli_plans_a_new_zone_cell_with_no_violation(fleet_copy: Path, capsys) -> None:
    _au_fleet(fleet_copy)
    assert cli_main(["plan", "ap-southeast-2", "--root", str(fleet_copy), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ap-southeast-2" in out


def test_the_shipped_zones_come_from_the_global_stack_file() -> None:
    use_residency(None)
    doc = yaml.safe_load(Path("Pulumi.global.yaml").read_text())["config"]["myark:global"]
    assert set(ZONES) == set(doc["zones"]) == {"us", "eu"}
    assert default_zone() == doc["defaultZone"] == "us"
    eu = ZONES["eu"]
    # EU outermost regions and special territories with their own codes, the EEA, the microstates.
    assert {"RE", "GP", "MQ", "GF", "YT", "MF", "AX", "NO", "IS", "LI", "MC", "SM", "VA", "AD"} <= set(
        eu.countries
    )
    assert {"US", "PR", "GU", "VI", "AS", "MP"} <= set(ZONES["us"].countries)
    assert set(eu.countries) <= ISO_COUNTRIES and len(eu.countries) == len(set(eu.countries))
    assert aws_service_control_policy("eu")["Statement"][0]["Condition"]["StringNotEquals"][
        "aws:RequestedRegion"
    ] == sorted(doc["zones"]["eu"]["awsRegions"])
    assert gcp_allowed_locations("eu") == [doc["zones"]["eu"]["gcpLocationGroup"]]


def test_a_zone_edit_in_config_moves_every_consumer(fleet_copy: Path) -> None:
    _edit(
        fleet_copy, "global", lambda cfg: cfg["myark:global"]["zones"]["eu"]["awsRegions"].append("eu-west-2")
    )
    load_fleet(fleet_copy)
    assert (
        "eu-west-2"
        in aws_service_control_policy("eu")["Statement"][0]["Condition"]["StringNotEquals"][
            "aws:RequestedRegion"
        ]
    )
    assert location_in_zone("europe-west2", "eu") and REGIONS["eu-west-2"].zone == "eu"


def test_every_region_has_a_twin_in_its_own_facts() -> None:
    for name, r in REGIONS.items():
        assert r.name == name and 2 <= len(r.azs) <= 6
        assert r.gcp_region and r.firestore_location and r.bigquery_location
    # The regions AWS runs with a GCP region in the same country, each with its facts.
    assert len(REGIONS) >= 28


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [(8192, 16384), (8192, 61440), (16384, 32768), (16384, 122880), (4096, 30720), (256, 512)],
)
def test_every_fargate_size_aws_accepts_is_accepted(fleet_copy: Path, cpu: int, memory: int) -> None:
    _edit(fleet_copy, "eu-central-1", lambda cfg: cfg["myark:cell"]["api"].update(cpu=cpu, memory=memory))
    assert load_fleet(fleet_copy).stack("eu-central-1").cell.api.memory == memory


def test_the_fargate_and_retention_tables_match_the_documented_ones() -> None:
    assert FARGATE_SIZES[8192] == tuple(range(16384, 61441, 4096))
    assert FARGATE_SIZES[16384] == tuple(range(32768, 122881, 8192))
    assert LOG_RETENTION_DAYS[-4:] == (2557, 2922, 3288, 3653)


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("network.flowLogRetentionDays", 3653, 3653),
        ("api.logRetentionDays", 2922, 2922),
        ("api.image", "public.ecr.aws/myark/api@sha256:" + "ab" * 32, None),
        ("api.image", "localhost:5000/myark/api:1.2.3", None),
        ("network.cidr", "192.168.0.0/16", None),
    ],
)
def test_values_aws_accepts_are_accepted(fleet_copy: Path, key: str, value: Any, parsed: Any) -> None:
    def change(cfg: dict[str, Any]) -> None:
        node = cfg["myark:cell"]
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        node[last] = value

    _edit(fleet_copy, "eu-central-1", change)
    spec = load_fleet(fleet_copy).stack("eu-central-1").cell
    node: Any = spec
    for part in key.split("."):
        node = getattr(node, {"flowLogRetentionDays": "flow_log_retention_days", "logRetentionDays":
                              "log_retention_days"}.get(part, part))  # fmt: skip
    assert node == (parsed if parsed is not None else value)


@pytest.mark.parametrize("written", [123456789012, "123456789012", "012345678901"])
def test_an_account_id_is_accepted_as_a_number_or_a_string(fleet_copy: Path, written: Any) -> None:
    (fleet_copy / "Pulumi.eu-central-1.yaml").write_text(
        (fleet_copy / "Pulumi.eu-central-1.yaml").read_text()
        + (
            f"  myark:awsScpTarget: {written}\n"
            if isinstance(written, int)
            else f'  myark:awsScpTarget: "{written}"\n'
        )
    )
    assert load_fleet(fleet_copy).stack("eu-central-1").config.aws_scp_target == str(written)
