"""Config that refuses bad input: one message naming file, key, problem and a valid value; nothing built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from cells.cli.main import main as cli_main
from cells.core.config.stack_files import load_stack
from cells.core.errors import ConfigError
from cells.core.fleet import load_fleet
from cells.offline.plan import record_plan


def edit(root: Path, stack: str, change: Callable[[dict[str, Any]], object]) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def cell(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["myark:cell"]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted key below myark:cell (or below a top-level key when it starts with a namespace)."""

    def change(cfg: dict[str, Any]) -> None:
        if ":" in path:
            top, _, rest = path.partition(".")
            if not rest:
                cfg[top] = value
                return
            node = cfg[top]
        else:
            node, rest = cell(cfg), path
        *parents, last = rest.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(cfg: dict[str, Any]) -> None:
        if ":" in path and "." not in path:
            del cfg[path]
            return
        node = cfg[path.split(".")[0]] if ":" in path else cell(cfg)
        *parents, last = path.split(".")[1:] if ":" in path else path.split(".")
        for p in parents:
            node = node[p]
        del node[last]

    return change


def _zones(change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], object]:
    """Edit `myark:global.zones` of the global stack."""
    return lambda cfg: change(cfg["myark:global"]["zones"])


CLOUDFLARE = {"provider": "cloudflare", "cloudflareAccountId": "0" * 32, "cloudflareZoneId": "1" * 32}
TOKEN = {"myark:cloudflareApiToken": {"secure": "v1:AAAA"}}
DIGEST = "sha256:" + "ab" * 32

Edits = dict[str, Callable[[dict[str, Any]], object]]

# (case id, stack planned, {stack file edited: change}, substrings the one line must hold). The
# planned stack's file is edited unless the edits name others (a stack missing from the project is
# created from a copy of eu-central-1's file first).
BAD_CONFIGS: list[tuple[str, str, Edits, tuple[str, ...]]] = [
    # --- one value of a cell ----------------------------------------------------------------
    ("az-count-wrong-type", "eu-central-1", {"eu-central-1": _set("network.azCount", "three")},
     ("Pulumi.eu-central-1.yaml", "myark:cell.network.azCount", "'three'", "valid integer")),
    ("az-count-one", "eu-central-1", {"eu-central-1": _set("network.azCount", 1)},
     ("myark:cell.network.azCount", "greater than or equal to 2")),
    ("az-count-region-lacks", "eu-central-1", {"eu-central-1": _set("network.azCount", 4)},
     ("myark:cell.network.azCount", "4 exceeds the 3 AZs of eu-central-1", "use 2 to 3")),
    ("unknown-region", "eu-central-1", {"eu-central-1": _set("region", "eu-mars-1")},
     ("myark:cell.region", "unknown region 'eu-mars-1'", "known regions: af-south-1", "eu-central-1, eu-central-2")),
    ("region-typo", "eu-central-1", {"eu-central-1": _set("region", "eu-centrl-1")},
     ("myark:cell.region", "did you mean 'eu-central-1'?")),
    ("region-in-no-zone", "eu-central-1", {"eu-central-1": _set("region", "ap-southeast-2")},
     ("myark:cell.region", "ap-southeast-2 is in no residency zone of Pulumi.global.yaml", "us: us-east-1",
      "myark:global.zones")),
    ("cidr-too-small", "eu-central-1", {"eu-central-1": _set("network.cidr", "10.32.0.0/24")},
     ("myark:cell.network.cidr", "/24", "/16 to /20")),
    ("cidr-not-a-network", "eu-central-1", {"eu-central-1": _set("network.cidr", "10.32.0.1/16")},
     ("myark:cell.network.cidr", "not a network address", "10.32.0.0/16")),
    ("cidr-public-range", "eu-central-1", {"eu-central-1": _set("network.cidr", "8.8.0.0/16")},
     ("myark:cell.network.cidr", "not inside an RFC 1918 private range", "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")),
    ("cidr-link-local", "eu-central-1", {"eu-central-1": _set("network.cidr", "169.254.0.0/16")},
     ("myark:cell.network.cidr", "169.254.0.0/16 is not inside an RFC 1918", "10.0.0.0/8")),
    ("cidr-loopback", "eu-central-1", {"eu-central-1": _set("network.cidr", "127.0.0.0/16")},
     ("myark:cell.network.cidr", "127.0.0.0/16 is not inside an RFC 1918", "10.0.0.0/8")),
    ("cidr-carrier-grade-nat", "eu-central-1", {"eu-central-1": _set("network.cidr", "100.64.0.0/16")},
     ("myark:cell.network.cidr", "100.64.0.0/16 is not inside an RFC 1918",)),
    ("cidr-straddles-rfc1918", "eu-central-1", {"eu-central-1": _set("network.cidr", "172.0.0.0/16")},
     ("myark:cell.network.cidr", "172.0.0.0/16 is not inside an RFC 1918",)),
    ("cidr-ipv6", "eu-central-1", {"eu-central-1": _set("network.cidr", "fd00::/16")},
     ("myark:cell.network.cidr", "fd00::/16 is not inside an RFC 1918",)),
    ("cidr-overlaps-other-cell", "eu-central-1", {"eu-central-1": _set("network.cidr", "10.16.0.0/16")},
     ("Pulumi.eu-central-1.yaml", "myark:cell.network.cidr", "overlaps cell us-east-1", "Pulumi.us-east-1.yaml",
      "e.g. 10.0.0.0/16")),
    ("nat-gateways-typo", "eu-central-1", {"eu-central-1": _set("network.natGateways", "perAZ")},
     ("myark:cell.network.natGateways", "did you mean 'perAz'?", "'perAz' or 'single'")),
    ("flow-log-retention-invalid", "eu-central-1", {"eu-central-1": _set("network.flowLogRetentionDays", 3650)},
     ("myark:cell.network.flowLogRetentionDays", "3650 is not a CloudWatch retention period", "nearest valid is 3653",
      "(valid: 1, 3, 5, 7,")),
    ("fargate-cpu-invalid", "eu-central-1", {"eu-central-1": _set("api.cpu", 300)},
     ("myark:cell.api.cpu", "300 is not a Fargate CPU size", "256, 512, 1024, 2048, 4096, 8192, 16384")),
    ("fargate-cpu-not-a-number", "eu-central-1", {"eu-central-1": _set("api.cpu", "big")},
     ("myark:cell.api.cpu", "'big'", "valid integer")),
    ("fargate-memory-mismatch", "eu-central-1", {"eu-central-1": _set("api.memory", 8192)},
     ("myark:cell.api.memory", "8192 MiB does not fit cpu 256", "512 to 2048")),
    ("fargate-16-vcpu-memory-step", "eu-central-1",
     {"eu-central-1": lambda c: cell(c)["api"].update({"cpu": 16384, "memory": 36864})},
     ("myark:cell.api.memory", "36864 MiB does not fit cpu 16384", "32768, 40960")),
    ("desired-above-max", "eu-central-1", {"eu-central-1": _set("api.desiredCount", 9)},
     ("myark:cell.api.desiredCount", "9 must lie between minCount 2 and maxCount 4")),
    ("count-out-of-range", "eu-central-1", {"eu-central-1": _set("api.maxCount", 500)},
     ("myark:cell.api.maxCount", "less than or equal to 200")),
    ("privileged-port", "eu-central-1", {"eu-central-1": _set("api.port", 80)},
     ("myark:cell.api.port", "greater than or equal to 1024")),
    ("health-path-not-a-path", "eu-central-1", {"eu-central-1": _set("api.healthCheckPath", "healthz")},
     ("myark:cell.api.healthCheckPath", "'healthz'", "should match pattern")),
    ("log-retention-not-cloudwatch", "eu-central-1", {"eu-central-1": _set("api.logRetentionDays", 100)},
     ("myark:cell.api.logRetentionDays", "100 is not a CloudWatch retention period", "nearest valid is 90")),
    ("image-latest", "eu-central-1", {"eu-central-1": _set("api.image", "public.ecr.aws/myark/api:latest")},
     ("myark:cell.api.image", "is not pinned (tag latest moves)", "public.ecr.aws/myark/api:2026.11.2",
      "@sha256:")),
    ("image-empty-tag", "eu-central-1", {"eu-central-1": _set("api.image", "public.ecr.aws/myark/api:")},
     ("myark:cell.api.image", "'public.ecr.aws/myark/api:' is not an image reference", "registry/name:tag")),
    ("image-no-tag", "eu-central-1", {"eu-central-1": _set("api.image", "localhost:5000/myark/api")},
     ("myark:cell.api.image", "is not pinned (no tag)", "localhost:5000/myark/api:2026.11.2")),
    ("image-short-digest", "eu-central-1", {"eu-central-1": _set("api.image", "myark/api@sha256:abc")},
     ("myark:cell.api.image", "not an image reference", "@sha256:<64 hex>")),
    ("image-uppercase-name", "eu-central-1", {"eu-central-1": _set("api.image", "myark/API:1.0")},
     ("myark:cell.api.image", "not an image reference",)),
    ("ssl-policy-unknown", "eu-central-1", {"eu-central-1": _set("loadBalancer.sslPolicy", "ELBSecurityPolicy-2016-08")},
     ("myark:cell.loadBalancer.sslPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06")),
    ("price-class-unknown", "eu-central-1", {"eu-central-1": _set("frontend.priceClass", "PriceClass_50")},
     ("myark:cell.frontend.priceClass", "'PriceClass_100', 'PriceClass_200' or 'PriceClass_All'")),
    ("bad-cell-name", "eu-central-1", {"eu-central-1": _set("name", "EU_Central")},
     ("myark:cell.name", "'EU_Central' is not a cell name", "e.g. eu-central-1")),
    ("bad-gcp-project", "eu-central-1", {"eu-central-1": _set("gcp.project", "My_Project")},
     ("myark:cell.gcp.project", "'My_Project' is not a GCP project id", "6-30 chars")),
    # --- keys: unknown, missing, misplaced, misspelt ----------------------------------------
    ("unknown-nested-key", "eu-central-1", {"eu-central-1": _set("netwrok", {"cidr": "10.32.0.0/16"})},
     ("myark:cell.netwrok", "unknown key 'netwrok'", "did you mean 'network'?", "valid keys here:")),
    ("renamed-required-key", "eu-central-1",
     {"eu-central-1": lambda c: cell(c).update({"netwrk": cell(c).pop("network")})},
     ("myark:cell.netwrk", "unknown key 'netwrk'", "did you mean 'network'?")),
    ("unknown-top-level-key", "eu-central-1", {"eu-central-1": _set("myark:regoin", "eu-central-1")},
     ("myark:regoin", "unknown key 'regoin'", "did you mean 'region'? it belongs inside myark:cell", "cell, cloudflareApiToken")),
    ("key-at-wrong-level", "eu-central-1", {"eu-central-1": _set("cidr", "10.32.0.0/16")},
     ("myark:cell.cidr", "unknown key 'cidr'", "cidr belongs inside myark:cell.network")),
    ("block-pasted-unnamespaced", "eu-central-1",
     {"eu-central-1": lambda c: c.update({"network": cell(c).pop("network")})},
     ("Pulumi.eu-central-1.yaml", "network:", "network belongs inside myark:cell", "indent it under myark:cell:")),
    ("top-level-key-unnamespaced", "eu-central-1", {"eu-central-1": lambda c: c.update({"domain": c.pop("myark:domain")})},
     ("domain:", "config keys are namespaced; write myark:domain")),
    ("missing-required-key", "eu-central-1", {"eu-central-1": _drop("gcp")},
     ("myark:cell.gcp", "required key is missing")),
    ("namespace-typo", "eu-central-1", {"eu-central-1": _set("myrak:awsScpTarget", "r-abcd")},
     ("myrak:awsScpTarget", "unknown namespace 'myrak'", "did you mean 'myark'?", "myark:, aws:, gcp:")),
    ("namespace-unknown", "global", {"global": _set("awss:region", "us-east-1")},
     ("Pulumi.global.yaml", "awss:region", "unknown namespace 'awss'", "did you mean 'aws'?")),
    ("non-text-key", "eu-central-1", {"eu-central-1": lambda cfg: cfg.update({cast(Any, 1): "x"})},
     ("Pulumi.eu-central-1.yaml", "1:", "a config key must be text")),
    ("unknown-kind", "eu-central-1", {"eu-central-1": _set("myark:kind", "region")},
     ("myark:kind", "'cell' or 'global'")),
    ("kind-typo", "eu-central-1", {"eu-central-1": _set("myark:kind", "cel")},
     ("myark:kind", "did you mean 'cell'?")),
    ("partial-cell-in-global", "global", {"global": _set("myark:cell", {"name": "x", "region": "us-east-1"})},
     ("Pulumi.global.yaml", "myark:cell", "belongs in cell stacks only")),
    ("global-block-in-cell", "eu-central-1", {"eu-central-1": _set("myark:global", {"region": "eu-central-1"})},
     ("myark:global", "belongs in the global stack only")),
    ("environment-typo", "eu-central-1", {"eu-central-1": _set("myark:environment", "prod")},
     ("myark:environment", "did you mean 'production'?", "'production', 'staging' or 'development'")),
    ("bad-domain", "eu-central-1", {"eu-central-1": _set("myark:domain", "not a domain")},
     ("myark:domain", "'not a domain' is not a DNS domain", "myark.io")),
    ("scp-target-bad", "eu-central-1", {"eu-central-1": _set("myark:awsScpTarget", "123")},
     ("myark:awsScpTarget", "'123'", "should match pattern")),
    ("plain-text-secret", "global", {"global": lambda cfg: cfg.update({"myark:cloudflareApiToken": "abc123"})},
     ("Pulumi.global.yaml", "myark:cloudflareApiToken", "plain text", "pulumi config set --secret")),
    ("cloudflare-without-token", "global", {"global": _set("myark:edge", CLOUDFLARE)},
     ("myark:cloudflareApiToken", "cloudflare edge needs it")),
    ("cloudflare-bad-account-id", "global",
     {"global": lambda cfg: cfg.update({"myark:edge": {**CLOUDFLARE, "cloudflareAccountId": "acct"}, **TOKEN})},
     ("myark:edge.cloudflareAccountId", "is 'acct'", "32-hex-digit")),
    ("edge-provider-typo", "global", {"global": _set("myark:edge", {"provider": "cloudflair"})},
     ("myark:edge.provider", "did you mean 'cloudflare'?", "'route53' or 'cloudflare'")),
    ("aws-region-contradicts", "eu-central-1", {"eu-central-1": lambda cfg: cfg.update({"aws:region": "us-east-1"})},
     ("aws:region", "us-east-1 contradicts myark:cell.region eu-central-1")),
    # --- shards and tenants -----------------------------------------------------------------
    ("shard-count-out-of-range", "eu-central-1", {"eu-central-1": _set("shards.logical", 60)},
     ("myark:cell.shards", "60", "10 to 50")),
    ("shard-logical-missing", "eu-central-1", {"eu-central-1": _set("shards.physical", {"users-a": "0-8"})},
     ("myark:cell.shards", "logical shard 9 is in no physical shard")),
    ("shard-logical-twice", "us-east-1", {"us-east-1": _set("shards.physical", {"users-a": "0-16", "users-b": "16-31"})},
     ("myark:cell.shards", "logical shard 16 is in both users-a and users-b")),
    ("tenant-in-another-zone", "us-east-1",
     {"us-east-1": _set("shards.tenants", {"acme-insurance": {"physical": "tenant-acme-insurance", "residency": "eu"}})},
     ("myark:cell.shards.tenants.acme-insurance", "requires residency 'eu'", "zone 'us'", "eu-central-1")),
    ("tenant-residency-not-a-zone", "us-east-1",
     {"us-east-1": _set("shards.tenants", {"acme-insurance": {"physical": "tenant-acme-insurance", "residency": "US"}})},
     ("myark:cell.shards.tenants.acme-insurance.residency", "'US' is not a residency zone", "did you mean 'us'?",
      "zones: us, eu")),
    ("tenant-in-two-cells", "eu-central-1",
     {"eu-central-1": _set("shards.tenants", {"acme-insurance": {"physical": "tenant-acme-insurance"}})},
     ("myark:cell.shards.tenants.acme-insurance", "already has its home in cell us-east-1")),
    # --- rules between stacks ---------------------------------------------------------------
    ("two-defaults-in-zone", "us-east-1",
     {"us-east-1": lambda cfg: cell(cfg).update(
         {"region": "eu-west-1", "shards": {"logical": 10, "physical": {"users-a": "0-9"}}})},
     ("fleet: myark:cell.defaultForZone", "zone eu needs exactly one default cell, found 2",
      "Pulumi.eu-central-1.yaml, Pulumi.us-east-1.yaml")),
    ("duplicate-cell-name", "eu-central-1", {"eu-central-1": _set("name", "us-east-1")},
     ("myark:cell.name", "'us-east-1' is already the name of the cell in Pulumi.us-east-1.yaml")),
    ("gcp-project-shared", "eu-central-1", {"eu-central-1": _set("gcp.project", "myark-us-east-1")},
     ("Pulumi.eu-central-1.yaml", "myark:cell.gcp.project", "already the project of Pulumi.us-east-1.yaml",
      "own GCP project")),
    ("domain-differs", "eu-central-1", {"eu-central-1": _set("myark:domain", "myark.eu")},
     ("myark:domain", "myark.eu differs from myark.io in Pulumi.global.yaml")),
    ("edge-differs-from-global", "eu-central-1",
     {"eu-central-1": lambda cfg: cfg.update({"myark:edge": CLOUDFLARE, **TOKEN})},
     ("myark:edge.provider", "cloudflare differs from route53 in Pulumi.global.yaml")),
    ("edge-zone-id-differs", "eu-central-1",
     {stack: (lambda cfg: cfg.update({"myark:edge": CLOUDFLARE, **TOKEN})) for stack in ("global", "us-east-1")}
     | {"eu-central-1": lambda cfg: cfg.update({"myark:edge": {**CLOUDFLARE, "cloudflareZoneId": "2" * 32}, **TOKEN})},
     ("Pulumi.eu-central-1.yaml", "myark:edge.cloudflareZoneId", "differs from " + "1" * 32 + " in Pulumi.global.yaml")),
    ("global-stack-wrong-project", "eu-central-1", {"eu-central-1": _set("myark:globalStack", "myark/myark-cels/global")},
     ("myark:globalStack", "names project 'myark-cels'", "Pulumi.yaml's project is 'myark-cells'",
      "write myark/myark-cells/global")),
    ("global-stack-names-a-cell", "eu-central-1",
     {"eu-central-1": _set("myark:globalStack", "myark/myark-cells/us-east-1")},
     ("Pulumi.eu-central-1.yaml", "myark:globalStack", "names Pulumi.us-east-1.yaml, a cell stack",
      "Pulumi.global.yaml", "write myark/myark-cells/global")),
    ("global-stack-names-nothing", "eu-central-1", {"eu-central-1": _set("myark:globalStack", "myark/myark-cells/glob")},
     ("myark:globalStack", "no Pulumi.glob.yaml", "write myark/myark-cells/global")),
    ("global-stack-not-qualified", "eu-central-1", {"eu-central-1": _set("myark:globalStack", "global")},
     ("myark:globalStack", "'global' is not org/project/stack", "myark/myark-cells/global")),
    ("no-global-stack", "eu-central-1", {"global": _set("myark:kind", "cell")},
     ("fleet: myark:kind", "found none among Pulumi.eu-central-1.yaml, Pulumi.global.yaml, Pulumi.us-east-1.yaml")),
    ("two-global-stacks", "eu-central-1", {"global2": lambda cfg: None},
     ("fleet: myark:kind", "found 2 (Pulumi.global.yaml, Pulumi.global2.yaml)")),
    ("draft-stack-file", "us-east-1",
     {"eu-west-1": lambda cfg: cell(cfg).update({"name": "eu-west-1", "region": "eu-west-1", "netwrk": {}})},
     ("Pulumi.eu-west-1.yaml: myark:cell.netwrk", "every plan reads the whole fleet",
      "move it out of the project while it is a draft, to plan us-east-1")),
    # --- the global stack: placement and zones ----------------------------------------------
    ("global-block-missing", "global", {"global": _drop("myark:global")},
     ("Pulumi.global.yaml", "myark:global", "a global stack needs it", "zones")),
    ("zones-missing", "global", {"global": lambda cfg: cfg["myark:global"].pop("zones")},
     ("Pulumi.global.yaml", "myark:global.zones", "required key is missing")),
    ("placement-not-100", "global", {"global": lambda cfg: cfg["myark:global"]["placement"].update({"eu": {"eu-central-1": 5}})},
     ("myark:global.placement.eu", "add up to 100")),
    ("placement-unknown-cell", "global",
     {"global": lambda cfg: cfg["myark:global"]["placement"].update({"eu": {"eu-west-9": 100}})},
     ("myark:global.placement.eu.eu-west-9", "no cell 'eu-west-9' in zone eu", "eu-central-1")),
    ("placement-unknown-zone", "global",
     {"global": lambda cfg: cfg["myark:global"]["placement"].update({"au": {"ap-southeast-2": 100}})},
     ("Pulumi.global.yaml", "myark:global.placement.au", "'au' is not a zone", "zones: us, eu")),
    ("zone-without-placement", "global", {"global": lambda cfg: cfg["myark:global"]["placement"].pop("eu")},
     ("Pulumi.global.yaml", "myark:global.placement.eu", "no placement weights", "eu: {eu-central-1: 100}")),
    ("zone-region-in-two-zones", "global", {"global": _zones(lambda z: z["eu"]["awsRegions"].append("us-east-2"))},
     ("Pulumi.global.yaml", "myark:global.zones.eu.awsRegions", "us-east-2 is already in zone us", "one zone only")),
    ("zone-without-countries", "global", {"global": _zones(lambda z: z["eu"].update({"countries": []}))},
     ("Pulumi.global.yaml", "myark:global.zones.eu.countries", "at least 1 item")),
    ("zone-country-in-two-zones", "global", {"global": _zones(lambda z: z["us"]["countries"].append("DE"))},
     ("myark:global.zones.eu.countries", "DE is already in zone us")),
    ("zone-unknown-region", "global", {"global": _zones(lambda z: z["eu"]["awsRegions"].append("eu-west-9"))},
     ("myark:global.zones.eu.awsRegions.4", "unknown region 'eu-west-9'", "did you mean")),
    ("zone-not-a-country", "global", {"global": _zones(lambda z: z["eu"]["countries"].append("EU"))},
     ("myark:global.zones.eu.countries.60", "'EU' is not an ISO 3166-1 alpha-2 country code")),
    ("zone-lowercase-country", "global", {"global": _zones(lambda z: z["us"]["countries"].append("ca"))},
     ("myark:global.zones.us.countries.7", "did you mean 'CA'?")),
    ("zone-unquoted-norway", "global", {"global": _zones(lambda z: z["eu"]["countries"].__setitem__(36, False))},
     ("myark:global.zones.eu.countries.36", "unquoted country code such as NO", 'quote it: "NO"')),
    ("zone-bad-gcp-group", "global", {"global": _zones(lambda z: z["eu"].update({"gcpLocationGroup": "eu"}))},
     ("myark:global.zones.eu.gcpLocationGroup", "'eu'", "in:")),
    ("zone-bad-name", "global", {"global": _zones(lambda z: z.update({"Europe": z.pop("eu")}))},
     ("myark:global.zones.Europe", "not a zone name", "2-8 lowercase")),
    ("zone-shares-gcp-location", "global",
     {"global": _zones(lambda z: (z["eu"]["awsRegions"].remove("eu-west-1"), z.update(
         {"ie": {"awsRegions": ["eu-west-1"], "countries": ["IS"], "gcpLocationGroup": "in:eu-locations"}})))},
     ("myark:global.zones.ie.awsRegions", "eu-west-1 uses GCP location eur3", "in zone eu")),
    ("zone-unknown-key", "global", {"global": _zones(lambda z: z["eu"].update({"regions": ["eu-west-1"]}))},
     ("myark:global.zones.eu.regions", "unknown key 'regions'", "valid keys here: awsRegions, countries")),
    ("default-zone-unknown", "global", {"global": lambda cfg: cfg["myark:global"].update({"defaultZone": "eur"})},
     ("myark:global.defaultZone", "'eur' is not a zone", "did you mean 'eu'?", "zones: us, eu")),
]  # fmt: skip


def apply_edits(root: Path, edits: Edits) -> None:
    for stack, change in edits.items():
        path = root / f"Pulumi.{stack}.yaml"
        if not path.exists():
            src = "global" if stack.startswith("global") else "eu-central-1"
            path.write_text((root / f"Pulumi.{src}.yaml").read_text())
        edit(root, stack, change)


@pytest.mark.parametrize(
    ("stack", "edits", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_is_refused_with_one_clear_line_and_builds_nothing(
    fleet_copy: Path, capsys: pytest.CaptureFixture[str], stack: str, edits: Edits, expected: tuple[str, ...]
) -> None:
    apply_edits(fleet_copy, edits)
    code = cli_main(["plan", stack, "--root", str(fleet_copy), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1, lines
    message = lines[0]
    assert message.startswith("Pulumi.") or message.startswith("fleet: "), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "Traceback" not in err and out == ""
    # Nothing built: the refusal comes before any resource is registered.
    with pytest.raises(ConfigError) as caught:
        record_plan(stack, root=fleet_copy)
    assert str(caught.value) == message
    assert getattr(caught.value, "registered", None) == 0, "resources were registered before the refusal"


def test_the_table_holds_at_least_sixty_distinct_cases() -> None:
    ids = [c[0] for c in BAD_CONFIGS]
    assert len(set(ids)) == len(ids) >= 60


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
