"""The global stack and the edge in both modes, as the offline plan records them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cells.core.config.stack_files import PROJECT_ROOT
from cells.core.edge_sources import CLOUDFLARE_IPV4
from cells.core.regions import ZONES
from cells.guardrails.scan.runner import switch_to_cloudflare
from cells.offline.plan import Plan, record_plan


def test_global_builds_identity_billing_directory_and_placement(plan_of) -> None:
    plan = plan_of("global")
    pool = plan.one("aws:cognito/userPool:UserPool").inputs
    assert pool["deletionProtection"] == "ACTIVE"
    assert [s["name"] for s in pool["schemas"]] == ["home_cell", "home_zone"]
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
            switch_to_cloudflare(doc["config"], rotating=True)
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
    from cells.guardrails.policies.plan_check import check_plan

    for stack, plan in cloudflare_plans.items():
        assert not [v for v in check_plan(plan) if v["level"] == "mandatory"], stack
    us = cloudflare_plans["us-east-1"].one("cloudflare:index/workersKv:WorkersKv", "-directory-entry").inputs
    assert us["keyName"] == "cell:us-east-1" and json.loads(us["value"])["zone"] == "us"


def test_cloudflare_cell_registers_its_own_kv_entry_and_admits_only_cloudflare(cloudflare_plans) -> None:
    plan = cloudflare_plans["eu-central-1"]
    entry = plan.one("cloudflare:index/workersKv:WorkersKv", "-directory-entry").inputs
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
        "import sys; from cells.offline.plan import record_plan; record_plan('eu-central-1'); "
        "print('pulumi_cloudflare' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


# ---- Route53: never an answer across zones, in any health state ---------------------------


@pytest.fixture(scope="module")
def second_eu_cell(tmp_path_factory) -> Plan:
    """The plan of a second EU cell (eu-west-1, the zone's failover) added to a copy of the fleet."""
    root = tmp_path_factory.mktemp("second-eu")
    for f in PROJECT_ROOT.glob("Pulumi*.yaml"):
        (root / f.name).write_text(f.read_text())
    text = (
        (root / "Pulumi.eu-central-1.yaml")
        .read_text()
        .replace("eu-central-1", "eu-west-1")
        .replace("10.32.0.0/16", "10.48.0.0/16")
        .replace("defaultForZone: true", "defaultForZone: false")
    )
    (root / "Pulumi.eu-west-1.yaml").write_text(text)
    return record_plan("eu-west-1", root=root)


def _route53_model(cell_plans: dict[str, Plan], force_target_health: bool = False):
    from route53_model import Route53, load

    stacks = []
    load_balancers = {}
    for cell, plan in cell_plans.items():
        records = _route53(plan)
        if force_target_health:  # the configuration before this change, to prove the model can fail
            records = [
                {**r, "aliases": [{**r["aliases"][0], "evaluateTargetHealth": True}]}
                if "geolocationRoutingPolicies" in r
                else r
                for r in records
            ]
        check_ids = {r["healthCheckId"] for r in records if r.get("healthCheckId")}
        assert len(check_ids) <= 1, f"{cell}: one health check per cell"
        stacks.append((records, dict.fromkeys(check_ids, cell)))
        own = [r for r in records if r["name"] == f"{cell}.api.myark.io"]
        load_balancers[own[0]["aliases"][0]["name"]] = cell
    return Route53(load(stacks), load_balancers)


def _answers(model, zone_of: dict[str, str]):
    """(country, zone, healthy cells, answer) for every country of every zone, every health state."""
    from itertools import product

    cells = sorted(zone_of)
    for zone in sorted(set(zone_of.values())):
        for country in ZONES[zone].countries:
            for states in product((True, False), repeat=len(cells)):
                up = {c for c, ok in zip(cells, states, strict=True) if ok}
                yield country, zone, up, model.resolve("api.myark.io", country, lambda c, up=up: c in up)


@pytest.mark.parametrize("fleet", ["repo", "second-eu-cell"])
def test_route53_answers_a_zones_countries_only_with_that_zones_cells(fleet, plan_of, request) -> None:
    plans = {"eu-central-1": plan_of("eu-central-1"), "us-east-1": plan_of("us-east-1")}
    if fleet == "second-eu-cell":
        plans["eu-west-1"] = request.getfixturevalue("second_eu_cell")
    zone_of = {c: ("eu" if c.startswith("eu-") else "us") for c in plans}
    model = _route53_model(plans)
    seen = 0
    for country, zone, up, answer in _answers(model, zone_of):
        seen += 1
        assert answer is None or zone_of[answer] == zone, (country, sorted(up), answer)
        zone_cells = {c for c in plans if zone_of[c] == zone}
        if zone_cells <= up:  # all of the zone healthy: the zone's default cell answers
            assert answer in {c for c in zone_cells if c in ("eu-central-1", "us-east-1")}, (country, answer)
    assert seen >= len(ZONES["eu"].countries) * 2 ** len(plans)


def test_the_route53_model_catches_target_health_on_geolocation_aliases(plan_of) -> None:
    # With evaluateTargetHealth on the geolocation aliases (the old records), an EU country whose
    # cells are all unhealthy falls through to `*`: a US cell. The model must see that.
    plans = {"eu-central-1": plan_of("eu-central-1"), "us-east-1": plan_of("us-east-1")}
    model = _route53_model(plans, force_target_health=True)
    assert model.resolve("api.myark.io", "DE", lambda c: c != "eu-central-1") == "us-east-1"
    fixed = _route53_model(plans)
    assert fixed.resolve("api.myark.io", "DE", lambda c: c != "eu-central-1") == "eu-central-1"


def test_route53_geolocation_aliases_never_evaluate_target_health(plan_of) -> None:
    for stack in ("eu-central-1", "us-east-1"):
        geo = [r for r in _route53(plan_of(stack)) if "geolocationRoutingPolicies" in r]
        assert geo and all(r["aliases"][0]["evaluateTargetHealth"] is False for r in geo)


# ---- Cloudflare: verified identity at the edge, only the router reaches a cell ----------------


def test_cloudflare_worker_verifies_tokens_against_the_user_pool(cloudflare_plans) -> None:
    glob = cloudflare_plans["global"]
    script = glob.one("cloudflare:index/workersScript:WorkersScript").inputs
    bindings = {b["name"]: b["text"] for b in script["bindings"] if b["type"] == "plain_text"}
    issuer = glob.outputs["identityIssuer"]
    assert bindings["TOKEN_ISSUER"] == issuer
    assert bindings["JWKS_URL"] == f"{issuer}/.well-known/jwks.json"
    assert bindings["TOKEN_AUDIENCE"] == glob.outputs["identityClientId"]
    pool = glob.one("aws:cognito/userPool:UserPool").inputs
    assert {"home_cell", "home_zone"} <= {s["name"] for s in pool["schemas"]}
    client = glob.one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert "custom:home_zone" in client["readAttributes"]
    assert "custom:home_zone" not in client.get("writeAttributes", [])
    assert glob.outputs["homeZoneClaim"] == "custom:home_zone"


def test_cloudflare_cell_load_balancer_forwards_only_the_routers_requests(cloudflare_plans) -> None:
    plan = cloudflare_plans["eu-central-1"]
    https = next(r for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    default = https.inputs["defaultActions"][0]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "403"
    gate = plan.one("aws:lb/listenerRule:ListenerRule", "-origin-gate").inputs
    assert gate["conditions"] == "[secret]"  # the secrets stay secrets (shape: the next test)
    assert gate["actions"][0]["type"] == "forward" and gate["priority"] == 1
    secret = plan.one("cloudflare:index/workersKv:WorkersKv", "-origin-secret").inputs
    assert secret["keyName"] == "secret:eu-central-1" and secret["value"] == "[secret]"
    waf = plan.one("aws:wafv2/webAcl:WebAcl", f"{plan.stack}-waf").inputs
    rate = next(r for r in waf["rules"] if r["name"] == "rate-limit-per-ip")["statement"][
        "rateBasedStatement"
    ]
    assert rate["aggregateKeyType"] == "FORWARDED_IP"
    assert rate["forwardedIpConfig"] == {"headerName": "X-MyARK-Client-IP", "fallbackBehavior": "MATCH"}


def test_route53_cell_load_balancer_forwards_and_rate_limits_the_connecting_address(plan_of) -> None:
    plan = plan_of("eu-central-1")
    https = next(r for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443)
    assert https.inputs["defaultActions"][0]["type"] == "forward"
    assert not plan.of_type("aws:lb/listenerRule:ListenerRule")
    waf = plan.one("aws:wafv2/webAcl:WebAcl", f"{plan.stack}-waf").inputs
    rate = next(r for r in waf["rules"] if r["name"] == "rate-limit-per-ip")["statement"][
        "rateBasedStatement"
    ]
    assert rate["aggregateKeyType"] == "IP"


def test_cloudflare_cell_without_an_origin_secret_is_refused(cloudflare_fleet: Path, tmp_path: Path) -> None:
    from cells.core.errors import ConfigError

    for f in cloudflare_fleet.glob("Pulumi*.yaml"):
        doc = yaml.safe_load(f.read_text())
        if f.name == "Pulumi.eu-central-1.yaml":
            del doc["config"]["myark:originSecret"]
            del doc["config"]["myark:originSecretPrevious"]
        (tmp_path / f.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        record_plan("eu-central-1", root=tmp_path)
    assert err.value.registered == 0, "a config error builds nothing"  # type: ignore[attr-defined]
    assert str(err.value).startswith(
        "Pulumi.eu-central-1.yaml: myark:originSecret: required with the cloudflare edge"
    )
    assert "pulumi config set --secret myark:originSecret" in str(err.value)


def test_the_origin_gate_accepts_the_current_and_the_previous_secret() -> None:
    import pulumi
    import pulumi_aws as aws

    from cells.infra.components.load_balancer import LoadBalancer, LoadBalancerArgs

    current, previous = "c" * 64, "p" * 64

    def run() -> None:
        provider = aws.Provider("aws", region="eu-central-1")
        LoadBalancer(
            "lb",
            LoadBalancerArgs(
                vpc_id="vpc-1",
                public_subnet_ids=["subnet-1", "subnet-2"],
                ingress_cidrs=CLOUDFLARE_IPV4,
                host_names=("eu-central-1.api.myark.io",),
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                idle_timeout_seconds=60,
                access_log_bucket="logs",
                target_port=8080,
                health_check_path="/healthz",
                log_retention_days=30,
                kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/k",
                origin_secrets=[current, previous],
                client_ip_header="X-MyARK-Client-IP",
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    plan = record_plan("eu-central-1", program=run, stack_outputs={})
    gate = plan.one("aws:lb/listenerRule:ListenerRule").inputs
    assert gate["conditions"] == [
        {"httpHeader": {"httpHeaderName": "X-MyARK-Origin-Auth", "values": [current, previous]}}
    ]
