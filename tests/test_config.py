"""Config that refuses bad input: one message naming file, key, problem and a valid value; nothing built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cells.config import ConfigError, load_stack
from cells.fleet import load_fleet
from cells.plan import record_plan


def edit(root: Path, stack: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def cell(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["myark:cell"]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted key below myark:cell (or a top-level myark: key when it starts with myark:)."""

    def change(cfg: dict[str, Any]) -> None:
        if path.startswith("myark:"):
            cfg[path] = value
            return
        node = cell(cfg)
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(cfg: dict[str, Any]) -> None:
        node = cell(cfg)
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        del node[last]

    return change


# (case id, stack edited, change, substrings the one message must hold)
BAD_CONFIGS: list[tuple[str, str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    (
        "az-count-wrong-type",
        "eu-central-1",
        _set("network.azCount", "three"),
        ("Pulumi.eu-central-1.yaml", "myark:cell.network.azCount", "'three'", "valid integer"),
    ),
    (
        "unknown-region",
        "eu-central-1",
        _set("region", "eu-mars-1"),
        ("myark:cell.region", "unknown region 'eu-mars-1'", "eu-central-1, eu-north-1"),
    ),
    (
        "cidr-too-small",
        "eu-central-1",
        _set("network.cidr", "10.32.0.0/24"),
        ("myark:cell.network.cidr", "/24", "/16 to /20"),
    ),
    (
        "cidr-not-a-network",
        "eu-central-1",
        _set("network.cidr", "10.32.0.1/16"),
        ("myark:cell.network.cidr", "not a network address", "10.32.0.0/16"),
    ),
    (
        "cidr-public-range",
        "eu-central-1",
        _set("network.cidr", "8.8.0.0/16"),
        ("myark:cell.network.cidr", "not a private IPv4 range", "10.0.0.0/8"),
    ),
    (
        "cidr-overlaps-other-cell",
        "eu-central-1",
        _set("network.cidr", "10.16.0.0/16"),
        (
            "Pulumi.eu-central-1.yaml",
            "myark:cell.network.cidr",
            "overlaps cell us-east-1",
            "e.g. 10.0.0.0/16",
        ),
    ),
    (
        "az-count-region-lacks",
        "eu-central-1",
        _set("network.azCount", 4),
        ("azCount 4 exceeds the 3 AZs of eu-central-1", "use 2 to 3"),
    ),
    (
        "fargate-cpu-invalid",
        "eu-central-1",
        _set("api.cpu", 300),
        ("myark:cell.api.cpu", "300 is not a Fargate CPU size", "256, 512, 1024"),
    ),
    (
        "fargate-memory-mismatch",
        "eu-central-1",
        _set("api.memory", 8192),
        ("memory 8192 MiB does not fit cpu 256", "512 to 2048"),
    ),
    (
        "desired-above-max",
        "eu-central-1",
        _set("api.desiredCount", 9),
        ("desiredCount 9 must lie between minCount 2 and maxCount 4",),
    ),
    (
        "count-out-of-range",
        "eu-central-1",
        _set("api.maxCount", 500),
        ("myark:cell.api.maxCount", "less than or equal to 200"),
    ),
    (
        "log-retention-not-cloudwatch",
        "eu-central-1",
        _set("api.logRetentionDays", 100),
        (
            "myark:cell.api.logRetentionDays",
            "100 is not a CloudWatch retention period",
            "nearest valid is 90",
        ),
    ),
    (
        "unknown-nested-key",
        "eu-central-1",
        _set("netwrok", {"cidr": "10.32.0.0/16"}),
        ("myark:cell.netwrok", "unknown key 'netwrok'", "network"),
    ),
    (
        "unknown-top-level-key",
        "eu-central-1",
        _set("myark:regoin", "eu-central-1"),
        ("myark:regoin", "unknown key 'regoin'", "cell, cloudflareApiToken"),
    ),
    ("missing-required-key", "eu-central-1", _drop("gcp"), ("myark:cell.gcp", "required key is missing")),
    (
        "bad-cell-name",
        "eu-central-1",
        _set("name", "EU_Central"),
        ("myark:cell.name", "'EU_Central' is not a cell name", "e.g. eu-central-1"),
    ),
    ("unknown-kind", "eu-central-1", _set("myark:kind", "region"), ("myark:kind", "'cell' or 'global'")),
    (
        "plain-text-secret",
        "global",
        lambda cfg: cfg.update({"myark:cloudflareApiToken": "abc123"}),
        ("Pulumi.global.yaml", "myark:cloudflareApiToken", "plain text", "pulumi config set --secret"),
    ),
    (
        "cloudflare-without-token",
        "global",
        lambda cfg: cfg.update(
            {
                "myark:edge": {
                    "provider": "cloudflare",
                    "cloudflareAccountId": "0" * 32,
                    "cloudflareZoneId": "1" * 32,
                }
            }
        ),
        ("cloudflare edge needs myark:cloudflareApiToken",),
    ),
    (
        "cloudflare-bad-account-id",
        "global",
        lambda cfg: cfg.update(
            {
                "myark:edge": {
                    "provider": "cloudflare",
                    "cloudflareAccountId": "acct",
                    "cloudflareZoneId": "1" * 32,
                }
            }
        ),
        ("edge.cloudflareAccountId is 'acct'", "32-hex-digit"),
    ),
    (
        "two-defaults-in-zone",
        "us-east-1",
        lambda cfg: cell(cfg).update(
            {"region": "eu-west-1", "shards": {"logical": 10, "physical": {"users-a": "0-9"}}}
        ),
        ("zone eu needs exactly one default cell, found 2", "eu-central-1, us-east-1"),
    ),
    (
        "duplicate-cell-name",
        "eu-central-1",
        _set("name", "us-east-1"),
        ("myark:cell.name", "'us-east-1' is already the name of the cell in Pulumi.us-east-1.yaml"),
    ),
    (
        "aws-region-contradicts",
        "eu-central-1",
        lambda cfg: cfg.update({"aws:region": "us-east-1"}),
        ("aws:region: us-east-1 contradicts myark:cell.region eu-central-1",),
    ),
    (
        "bad-domain",
        "eu-central-1",
        _set("myark:domain", "not a domain"),
        ("myark:domain", "'not a domain' is not a DNS domain", "myark.io"),
    ),
    (
        "placement-not-100",
        "global",
        lambda cfg: cfg["myark:global"]["placement"].update({"eu": {"eu-central-1": 5}}),
        ("myark:global.placement", "add up to 100"),
    ),
    (
        "placement-unknown-cell",
        "global",
        lambda cfg: cfg["myark:global"]["placement"].update({"eu": {"eu-west-9": 100}}),
        ("myark:global.placement.eu.eu-west-9", "no cell 'eu-west-9' in zone eu", "eu-central-1"),
    ),
    (
        "zone-without-placement",
        "global",
        lambda cfg: cfg["myark:global"]["placement"].pop("eu"),
        (
            "Pulumi.global.yaml",
            "myark:global.placement.eu",
            "no placement weights",
            "eu: {eu-central-1: 100}",
        ),
    ),
    (
        "shard-count-out-of-range",
        "eu-central-1",
        _set("shards.logical", 60),
        ("myark:cell.shards", "60", "10 to 50"),
    ),
    (
        "shard-logical-missing",
        "eu-central-1",
        _set("shards.physical", {"users-a": "0-8"}),
        ("myark:cell.shards", "logical shard 9 is in no physical shard"),
    ),
    (
        "shard-logical-twice",
        "us-east-1",
        _set("shards.physical", {"users-a": "0-16", "users-b": "16-31"}),
        ("myark:cell.shards", "logical shard 16 is in both users-a and users-b"),
    ),
    (
        "tenant-in-another-zone",
        "us-east-1",
        _set("shards.tenants", {"acme-insurance": {"physical": "tenant-acme-insurance", "residency": "eu"}}),
        ("shards.tenants.acme-insurance", "requires residency 'eu'", "zone 'us'", "eu-central-1"),
    ),
    (
        "tenant-in-two-cells",
        "eu-central-1",
        _set("shards.tenants", {"acme-insurance": {"physical": "tenant-acme-insurance"}}),
        ("shards.tenants.acme-insurance", "already has its home in cell us-east-1"),
    ),
    (
        "edge-differs-from-global",
        "eu-central-1",
        lambda cfg: cfg.update(
            {
                "myark:edge": {
                    "provider": "cloudflare",
                    "cloudflareAccountId": "0" * 32,
                    "cloudflareZoneId": "1" * 32,
                },
                "myark:cloudflareApiToken": {"secure": "v1:AAAA"},
            }
        ),
        ("myark:edge.provider: cloudflare differs from the global stack's route53",),
    ),
]


@pytest.mark.parametrize(
    ("stack", "change", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_is_refused_with_one_clear_message_and_builds_nothing(
    fleet_copy: Path, stack: str, change, expected: tuple[str, ...]
) -> None:
    edit(fleet_copy, stack, change)
    with pytest.raises(ConfigError) as caught:
        record_plan(stack, root=fleet_copy)
    message = str(caught.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "Traceback" not in message
    assert getattr(caught.value, "registered", None) == 0, "resources were registered before the refusal"


def test_the_table_holds_at_least_fifteen_distinct_cases() -> None:
    ids = [c[0] for c in BAD_CONFIGS]
    assert len(set(ids)) == len(ids) >= 15


def test_every_stack_of_the_repo_is_valid_and_the_fleet_rules_hold() -> None:
    fleet = load_fleet()
    assert {s.stack for s in fleet.stacks} >= {"global", "us-east-1", "eu-central-1"}
    assert {s.cell.zone for s in fleet.cells} == {"us", "eu"}
    assert fleet.stack("eu-central-1").cell.pilot


def test_a_new_region_is_a_config_change_only(fleet_copy: Path) -> None:
    src = (fleet_copy / "Pulumi.eu-central-1.yaml").read_text()
    text = (
        src.replace("eu-central-1", "eu-west-1")
        .replace("10.32.0.0/16", "10.48.0.0/16")
        .replace("defaultForZone: true", "defaultForZone: false")
    )
    (fleet_copy / "Pulumi.eu-west-1.yaml").write_text(text)
    fleet = load_fleet(fleet_copy)
    assert [s.cell.name for s in fleet.cells_in_zone("eu")] == ["eu-central-1", "eu-west-1"]
    plan = record_plan("eu-west-1", root=fleet_copy)
    assert {r.region for r in plan.of_type("aws:ec2/vpc:Vpc")} == {"eu-west-1"}


def test_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown stack 'mars'.*known stacks: eu-central-1, global, us-east-1"
    ):
        load_stack("mars")


def test_a_duplicate_key_is_refused_not_silently_dropped(fleet_copy: Path) -> None:
    path = fleet_copy / "Pulumi.us-east-1.yaml"
    path.write_text(
        path.read_text().replace(
            "        users-b: 16-31\n", "        users-b: 16-31\n        users-a: 0-15\n"
        )
    )
    with pytest.raises(
        ConfigError, match=r"Pulumi.us-east-1.yaml: is not valid YAML: .*duplicate key 'users-a'"
    ):
        load_stack("us-east-1", fleet_copy)


def test_invalid_yaml_is_one_message(fleet_copy: Path) -> None:
    (fleet_copy / "Pulumi.eu-central-1.yaml").write_text("config:\n  myark:kind: [cell\n")
    with pytest.raises(ConfigError, match=r"Pulumi.eu-central-1.yaml: is not valid YAML"):
        load_stack("eu-central-1", fleet_copy)
