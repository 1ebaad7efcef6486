"""The global stack and the edge in both modes, as the offline plan records them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cells.config import PROJECT_ROOT
from cells.edge_sources import CLOUDFLARE_IPV4
from cells.plan import Plan, record_plan
from cells.regions import ZONES

CLOUDFLARE_EDGE = {"provider": "cloudflare", "cloudflareAccountId": "a" * 32, "cloudflareZoneId": "b" * 32}


def test_global_builds_identity_billing_directory_and_placement(plan_of) -> None:
    plan = plan_of("global")
    pool = plan.one("aws:cognito/userPool:UserPool").inputs
    assert pool["deletionProtection"] == "ACTIVE"
    assert [s["name"] for s in pool["schemas"]] == ["home_cell"]
    table = plan.one("aws:dynamodb/table:Table")
    assert table.inputs["pointInTimeRecovery"]["enabled"] and table.inputs["deletionProtectionEnabled"]
    assert table.inputs["serverSideEncryption"]["enabled"] and table.protect
    assert table.inputs["tags"]["myark:role"] == "cell-directory"
    assert plan.one("aws:cloudwatch/eventBus:EventBus").inputs["kmsKeyIdentifier"].startswith("arn:aws:kms:")
    archive = plan.one("aws:cloudwatch/eventArchive:EventArchive")
    assert archive.inputs["kmsKeyIdentifier"].startswith("arn:aws:kms:") and archive.protect
    out = plan.outputs
    assert out["placement"] == {"eu": {"eu-central-1": 100}, "us": {"us-east-1": 100}}
    assert out["homeCellClaim"] == "custom:home_cell"
    assert out["identityIssuer"].startswith("https://cognito-idp.us-east-1.amazonaws.com/")
    assert out["edgeProvider"] == "route53" and out["route53ZoneId"]


def test_a_cell_reads_the_global_stack_through_its_offline_plan(plan_of) -> None:
    cell, glob = plan_of("eu-central-1"), plan_of("global")
    task = json.loads(
        plan_of("eu-central-1").one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"]
    )[0]
    env = {e["name"]: e["value"] for e in task["environment"]}
    assert env["MYARK_BILLING_BUS_ARN"] == glob.outputs["billingBusArn"]
    assert env["MYARK_IDENTITY_ISSUER"] == glob.outputs["identityIssuer"]
    zone_id = glob.outputs["route53ZoneId"]
    assert all(r.inputs["zoneId"] == zone_id for r in cell.of_type("aws:route53/record:Record"))


def _route53(plan: Plan) -> list[dict]:
    return [r.inputs for r in plan.of_type("aws:route53/record:Record")]


def test_route53_never_uses_weighted_records(plan_of) -> None:
    for stack in ("eu-central-1", "us-east-1"):
        assert not any("weightedRoutingPolicies" in r for r in _route53(plan_of(stack)))


def test_route53_geolocation_sends_each_zone_only_to_its_own_cells(plan_of) -> None:
    for stack, zone in (("eu-central-1", "eu"), ("us-east-1", "us")):
        records = _route53(plan_of(stack))
        geo = [r for r in records if "geolocationRoutingPolicies" in r]
        countries = {r["geolocationRoutingPolicies"][0]["country"] for r in geo}
        expected = set(ZONES[zone].countries) | ({"*"} if zone == "us" else set())
        assert countries == expected
        assert {r["aliases"][0]["name"] for r in geo} == {f"{zone}.api.myark.io"}
        failover = [r for r in records if "failoverRoutingPolicies" in r]
        assert [(r["name"], r["failoverRoutingPolicies"][0]["type"]) for r in failover] == [
            (f"{zone}.api.myark.io", "PRIMARY")
        ]
        assert failover[0]["healthCheckId"]


def test_each_cell_has_its_own_host_and_health_check(plan_of) -> None:
    plan = plan_of("eu-central-1")
    names = {r["name"] for r in _route53(plan)}
    assert {"eu-central-1.api.myark.io", "eu-central-1.app.myark.io"} <= names
    check = plan.one("aws:route53/healthCheck:HealthCheck").inputs
    assert check["fqdn"] == "eu-central-1.api.myark.io" and check["type"] == "HTTPS"
    assert check["tags"]["myark:role"] == "cell-health" and check["tags"]["myark:cell"] == "eu-central-1"


def test_certificates_are_validated_through_the_edge_before_use(plan_of) -> None:
    plan = plan_of("eu-central-1")
    validations = {r.name: r for r in plan.of_type("aws:acm/certificateValidation:CertificateValidation")}
    assert set(validations) == {"eu-central-1-cert-validation", "eu-central-1-cdn-cert-validation"}
    https = next(r for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    lb_cert = plan.one("aws:acm/certificate:Certificate", "eu-central-1-cert")
    assert (
        https.inputs["certificateArn"] == validations["eu-central-1-cert-validation"].inputs["certificateArn"]
    )
    assert lb_cert.inputs["subjectAlternativeNames"] == ["api.myark.io"]


def test_a_second_eu_cell_named_the_zone_failover_claims_secondary_without_touching_other_stacks(
    fleet_copy: Path,
):
    before = {p.name: p.read_text() for p in fleet_copy.glob("Pulumi.*.yaml")}
    text = (
        before["Pulumi.eu-central-1.yaml"]
        .replace("eu-central-1", "eu-west-1")
        .replace("10.32.0.0/16", "10.48.0.0/16")
        .replace("defaultForZone: true", "defaultForZone: false\n    failoverForZone: true")
    )
    (fleet_copy / "Pulumi.eu-west-1.yaml").write_text(text)
    plan = record_plan("eu-west-1", root=fleet_copy)
    failover = [r for r in _route53(plan) if "failoverRoutingPolicies" in r]
    assert [(r["name"], r["failoverRoutingPolicies"][0]["type"]) for r in failover] == [
        ("eu.api.myark.io", "SECONDARY")
    ]
    assert not [r for r in _route53(plan) if "geolocationRoutingPolicies" in r]
    assert {p.name: p.read_text() for p in fleet_copy.glob("Pulumi.*.yaml") if p.name in before} == before


@pytest.fixture(scope="module")
def cloudflare_fleet(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cloudflare")
    for f in PROJECT_ROOT.glob("Pulumi*.yaml"):
        doc = yaml.safe_load(f.read_text())
        if f.name != "Pulumi.yaml":
            doc["config"]["myark:edge"] = CLOUDFLARE_EDGE
            doc["config"]["myark:cloudflareApiToken"] = {"secure": "v1:ciphertext"}
        (root / f.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def cloudflare_plans(cloudflare_fleet: Path) -> dict[str, Plan]:
    return {s: record_plan(s, root=cloudflare_fleet) for s in ("global", "eu-central-1", "us-east-1")}


def test_cloudflare_global_deploys_the_worker_with_its_kv_directory(cloudflare_plans) -> None:
    plan = cloudflare_plans["global"]
    script = plan.one("cloudflare:index/workersScript:WorkersScript").inputs
    assert script["content"] == (PROJECT_ROOT / "edge-worker/src/worker.js").read_text()
    bindings = {b["name"]: b for b in script["bindings"]}
    assert bindings["DIRECTORY"]["type"] == "kv_namespace"
    assert json.loads(bindings["COUNTRY_ZONES"]["text"])["DE"] == "eu"
    assert bindings["DEFAULT_ZONE"]["text"] == "us"
    assert plan.one("cloudflare:index/workersRoute:WorkersRoute").inputs["pattern"] == "api.myark.io/*"
    kv = plan.one("cloudflare:index/workersKvNamespace:WorkersKvNamespace")
    assert kv.protect and kv.retain_on_delete
    assert plan.outputs["kvNamespaceId"] and plan.outputs["edgeProvider"] == "cloudflare"
    assert not plan.of_type("aws:route53/zone:Zone")


def test_cloudflare_token_is_a_secret_in_the_plan(cloudflare_plans) -> None:
    for plan in cloudflare_plans.values():
        provider = plan.one("pulumi:providers:cloudflare")
        assert provider.inputs["apiToken"] == "[secret]"


def test_every_stack_plans_in_cloudflare_mode_without_violations(cloudflare_plans) -> None:
    from cells.policies import check_plan

    for stack, plan in cloudflare_plans.items():
        assert not [v for v in check_plan(plan) if v["level"] == "mandatory"], stack
    us = cloudflare_plans["us-east-1"].one("cloudflare:index/workersKv:WorkersKv").inputs
    assert us["keyName"] == "cell:us-east-1" and json.loads(us["value"])["zone"] == "us"


def test_cloudflare_cell_registers_its_own_kv_entry_and_admits_only_cloudflare(cloudflare_plans) -> None:
    plan = cloudflare_plans["eu-central-1"]
    entry = plan.one("cloudflare:index/workersKv:WorkersKv").inputs
    assert entry["keyName"] == "cell:eu-central-1"
    assert json.loads(entry["value"]) == {
        "name": "eu-central-1",
        "zone": "eu",
        "default": True,
        "origin": "https://eu-central-1.api.myark.io",
    }
    assert entry["namespaceId"] == cloudflare_plans["global"].outputs["kvNamespaceId"]
    sources = {
        r.inputs["cidrIpv4"]
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "cidrIpv4" in r.inputs
    }
    assert sources == set(CLOUDFLARE_IPV4)
    assert not plan.of_type("aws:route53/record:Record")
    api = next(
        r for r in plan.of_type("cloudflare:index/dnsRecord:DnsRecord") if r.name.endswith("-api-record")
    )
    assert api.inputs["proxied"] is True and api.inputs["name"] == "eu-central-1.api.myark.io"


def test_route53_mode_never_imports_the_cloudflare_sdk() -> None:
    code = (
        "import sys; from cells.plan import record_plan; record_plan('eu-central-1'); "
        "print('pulumi_cloudflare' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
