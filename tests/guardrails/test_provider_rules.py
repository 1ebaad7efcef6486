"""The providers' own rules: each rule fails on what the service refuses and passes on what it takes;
the real stacks and a synthetic fleet (both edge modes) plan with none broken."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cells.core.config.stack_files import PROJECT_ROOT, list_stacks
from cells.core.naming import (
    AUTONAME_SUFFIX_LENGTH,
    api_service_account_id,
    federation_pool_id,
    load_balancer_name,
    target_group_name,
    within,
)
from cells.guardrails import provider_rules
from cells.guardrails.provider_rules import RULES, check_fleet_plans, check_stack
from cells.offline.plan import Plan, PlannedResource, record_plan

LB = "aws:lb/loadBalancer:LoadBalancer"
RECORD = "aws:route53/record:Record"


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


def _key(policy_statements: list[dict]) -> PlannedResource:
    return res(
        "aws:kms/key:Key",
        "k-key",
        {"policy": json.dumps({"Version": "2012-10-17", "Statement": policy_statements})},
        {"arn": "arn:aws:kms:us-east-1:1:key/k"},
    )


EVENTS_GRANT = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}
ROOT_ONLY = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::1:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _alb_logs(principal: dict, region: str = "eu-central-1") -> list[PlannedResource]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": ["s3:PutObject"], "Resource": "b/alb/*"}
    return [
        res(LB, "c-alb", {"accessLogs": {"bucket": "logs", "enabled": True}}, region=region),
        res("aws:s3/bucket:Bucket", "c-logs", {}, {"bucket": "logs", "id": "logs"}),
        res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "c-logs-policy",
            {"bucket": "logs", "policy": {"Statement": [statement]}},
        ),
    ]


def _waf(group: dict) -> PlannedResource:
    rule = {"name": "common", "statement": {"managedRuleGroupStatement": group}}
    return res("aws:wafv2/webAcl:WebAcl", "c-waf", {"name": "c-waf", "scope": "REGIONAL", "rules": [rule]})


COMMON = {"name": "AWSManagedRulesCommonRuleSet", "vendorName": "AWS"}
COGNITO_DOMAIN = res(
    "aws:cognito/userPoolDomain:UserPoolDomain", "auth", {"domain": "auth.x.io", "certificateArn": "arn"}
)
GOOD_CLIENT = {
    "allowedOauthFlowsUserPoolClient": True,
    "allowedOauthFlows": ["code"],
    "allowedOauthScopes": ["openid", "email"],
    "callbackUrls": ["https://c.app.x.io/auth/callback"],
    "logoutUrls": ["https://c.app.x.io/"],
    "supportedIdentityProviders": ["COGNITO"],
}
CELL_OUTPUTS = {"cell": "c", "apiHost": "c.api.x.io"}


def _csp(policy: str) -> PlannedResource:
    return res(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "c-headers",
        {"securityHeadersConfig": {"contentSecurityPolicy": {"contentSecurityPolicy": policy}}},
    )


def _record(name: str, role: str | None = None, set_id: str = "") -> PlannedResource:
    inputs: dict[str, Any] = {"name": name, "type": "A", "setIdentifier": set_id}
    if role:
        inputs["failoverRoutingPolicies"] = [{"type": role}]
    return res(RECORD, f"r-{name}-{set_id}", inputs)


def _pool(project: str) -> PlannedResource:
    return res(
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "pool",
        {"project": project, "workloadIdentityPoolId": "myark-c"},
    )


# rule id -> (what the service refuses, what it takes); fleet rules get a list of plans.
Case = Callable[[], Any]
CASES: dict[str, tuple[Case, Case]] = {
    "aws-name-length": (
        lambda: plan(res(LB, "x" * 25, {})),  # 25 + 8 = 33 > 32 after autonaming
        lambda: plan(res(LB, "x" * 24, {}), res(LB, "y" * 40, {"name": "y" * 32})),
    ),
    "gcp-id-format": (
        lambda: plan(
            res(
                "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
                "p",
                {"workloadIdentityPoolProviderId": "aws"},
            )
        ),
        lambda: plan(
            res(
                "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
                "p",
                {"workloadIdentityPoolProviderId": "aws-tasks"},
            )
        ),
    ),
    "gcp-kms-location": (
        lambda: plan(res("gcp:kms/keyRing:KeyRing", "ring", {"location": "eu", "name": "r"})),
        lambda: plan(
            res("gcp:kms/keyRing:KeyRing", "ring", {"location": "europe", "name": "r"}),
            res("gcp:kms/keyRing:KeyRing", "ring2", {"location": "europe-west3", "name": "r2"}),
        ),
    ),
    "gcp-cmek-location": (
        lambda: plan(
            res(
                "gcp:bigquery/dataset:Dataset",
                "ds",
                {
                    "location": "EU",
                    "defaultEncryptionConfiguration": {"kmsKeyName": "projects/p/locations/eu/k"},
                },
            )
        ),
        lambda: plan(
            res(
                "gcp:bigquery/dataset:Dataset",
                "ds",
                {
                    "location": "EU",
                    "defaultEncryptionConfiguration": {"kmsKeyName": "projects/p/locations/europe/k"},
                },
            ),
            res(
                "gcp:firestore/database:Database",
                "db",
                {"locationId": "nam5", "cmekConfig": {"kmsKeyName": "projects/p/locations/us/keyRings/r/k"}},
            ),
        ),
    ),
    "route53-alias-health": (
        lambda: plan(
            res(
                RECORD,
                "app",
                {
                    "aliases": [
                        {"name": "d.cloudfront.net", "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": True}
                    ]
                },
            )
        ),
        lambda: plan(
            res(
                RECORD,
                "app",
                {
                    "aliases": [
                        {
                            "name": "d.cloudfront.net",
                            "zoneId": "Z2FDTNDATAQYW2",
                            "evaluateTargetHealth": False,
                        }
                    ]
                },
            ),
            res(
                RECORD,
                "api",
                {
                    "aliases": [
                        {"name": "lb.elb.amazonaws.com", "zoneId": "Z215", "evaluateTargetHealth": True}
                    ]
                },
            ),
        ),
    ),
    "kms-key-policy-users": (
        lambda: plan(
            _key([ROOT_ONLY]),
            res(
                "aws:cloudwatch/eventBus:EventBus",
                "bus",
                {"kmsKeyIdentifier": "arn:aws:kms:us-east-1:1:key/k"},
            ),
        ),
        lambda: plan(
            _key([ROOT_ONLY, EVENTS_GRANT]),
            res(
                "aws:cloudwatch/eventBus:EventBus",
                "bus",
                {"kmsKeyIdentifier": "arn:aws:kms:us-east-1:1:key/k"},
            ),
        ),
    ),
    "alb-log-delivery-principal": (
        # eu-central-1 predates August 2022: the service principal does not get the logs there.
        lambda: plan(*_alb_logs({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"})),
        lambda: plan(*_alb_logs({"AWS": "arn:aws:iam::054676820928:root"})),
    ),
    "waf-common-body-size": (
        lambda: plan(_waf(COMMON)),
        lambda: plan(
            _waf(
                {
                    **COMMON,
                    "ruleActionOverrides": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}],
                }
            )
        ),
    ),
    "cognito-custom-domain-apex": (
        lambda: plan(COGNITO_DOMAIN),
        lambda: plan(
            COGNITO_DOMAIN, res(RECORD, "apex", {"name": "x.io", "type": "A", "records": ["192.0.2.1"]})
        ),
    ),
    "cognito-oauth-client": (
        lambda: plan(COGNITO_DOMAIN, res("aws:cognito/userPoolClient:UserPoolClient", "app", {})),
        lambda: plan(COGNITO_DOMAIN, res("aws:cognito/userPoolClient:UserPoolClient", "app", GOOD_CLIENT)),
    ),
    "csp-connect-api": (
        lambda: plan(_csp("default-src 'self'; object-src 'none'"), outputs=CELL_OUTPUTS),
        lambda: plan(
            _csp(
                "default-src 'self'; connect-src 'self' https://api.x.io https://c.api.x.io https://auth.x.io; "
                "object-src 'none'"
            ),
            outputs=CELL_OUTPUTS,
        ),
    ),
    "dns-record-one-owner": (
        lambda: [plan(_record("_v.api.x.io"), stack="a"), plan(_record("_v.api.x.io"), stack="b")],
        lambda: [plan(_record("_v.a.api.x.io"), stack="a"), plan(_record("_v.b.api.x.io"), stack="b")],
    ),
    "route53-failover-roles": (
        lambda: [
            plan(_record("eu.api.x.io", "SECONDARY", "a"), stack="a"),
            plan(_record("eu.api.x.io", "SECONDARY", "b"), stack="b"),
        ],
        lambda: [
            plan(_record("eu.api.x.io", "PRIMARY", "a"), stack="a"),
            plan(_record("eu.api.x.io", "SECONDARY", "b"), stack="b"),
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
BY_ID = {r.id: r for r in RULES}


def test_every_rule_has_a_failing_and_a_passing_case_and_cites_a_source() -> None:
    assert set(CASES) == set(BY_ID)
    for r in RULES:
        assert r.source.startswith("https://"), r.id


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fails_on_what_the_service_refuses(rule_id: str) -> None:
    found = list(BY_ID[rule_id].check(CASES[rule_id][0]()))
    assert found and {v.rule for v in found} == {rule_id}
    v = found[0]
    assert v.urn.startswith("urn:pulumi:") and v.value and v.allowed and v.origin


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_what_the_service_takes(rule_id: str) -> None:
    assert list(BY_ID[rule_id].check(CASES[rule_id][1]())) == []


def test_alb_logs_in_a_region_newer_than_august_2022_go_to_the_service_principal() -> None:
    newer = "ap-southeast-5"
    assert provider_rules.elb_log_principal(newer) == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    service = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert not list(BY_ID["alb-log-delivery-principal"].check(plan(*_alb_logs(service, region=newer))))


def test_the_docs_table_lists_every_rule_with_its_source_and_is_current() -> None:
    doc = (PROJECT_ROOT / "docs" / "provider-rules.md").read_text()
    assert doc == provider_rules.markdown_table(), "run: ./dev rules --doc docs/provider-rules.md"
    for r in RULES:
        assert f"`{r.id}`" in doc and r.source in doc


# ---------------------------------------------------------------------------------------------
# Names derived within budget.


@pytest.mark.parametrize(
    "cell", ["eu-central-1", "a" * 17, "a" * 18, "eu-" + "x" * 26 + "-1z", "b-" * 15 + "cc"]
)
def test_names_derived_from_a_cell_name_fit_the_services(cell: str) -> None:
    assert len(cell) <= 32
    lb = load_balancer_name(cell) or f"{cell}-alb" + "-" * 0 + "x" * AUTONAME_SUFFIX_LENGTH
    tg = target_group_name(cell) or f"{cell}-api-tg" + "x" * AUTONAME_SUFFIX_LENGTH
    assert len(lb) <= 32 and len(tg) <= 32
    assert 4 <= len(federation_pool_id(cell)) <= 32 and not federation_pool_id(cell).endswith("-")
    assert 6 <= len(api_service_account_id(cell)) <= 30 and not api_service_account_id(cell).endswith("-")


def test_todays_names_keep_the_autoname_and_long_ones_stay_distinct() -> None:
    assert load_balancer_name("eu-central-1") is None and target_group_name("us-east-1") is None
    assert federation_pool_id("eu-central-1") == "myark-eu-central-1"
    long_a, long_b = "eu-central-1-second-cell-aaaaaaa", "eu-central-1-second-cell-aaaaaab"
    assert within(f"myark-{long_a}", 32) != within(f"myark-{long_b}", 32)


# ---------------------------------------------------------------------------------------------
# The real stacks, and `./dev plan` on a violation.


def test_the_real_stacks_plan_with_no_provider_rule_violation(plan_of) -> None:
    plans = [plan_of(s) for s in list_stacks()]
    assert [v.message() for v in check_fleet_plans(plans)] == []


def test_the_fixed_defects_hold_in_the_real_plans(plan_of) -> None:
    glob, eu = plan_of("global"), plan_of("eu-central-1")
    provider = eu.one("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").inputs
    assert provider["workloadIdentityPoolProviderId"] == "aws-tasks"
    env = {
        e["name"]: e["value"]
        for e in json.loads(eu.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])[
            0
        ]["environment"]
    }
    # The audience the API uses follows the provider id (the mock's project numbers differ).
    audience = env["MYARK_GCP_AUDIENCE"]
    assert audience.endswith("/providers/aws-tasks")
    assert eu.outputs["gcpAudience"].split("/locations/")[1] == audience.split("/locations/")[1]
    assert {r.inputs["location"] for r in eu.of_type("gcp:kms/keyRing:KeyRing")} == {"europe"}
    # Cells validate their own names only; the global stack owns the shared api.<domain> record.
    cell_records = [r.inputs["name"] for r in eu.of_type(RECORD) if r.inputs.get("type") == "CNAME"]
    assert cell_records and not any(n[n.index(".") :] == ".api.myark.io." for n in cell_records)
    assert any(n.endswith(".api.myark.io.") and n.count(".") == 4 for n in _cnames(glob))
    apex = [r for r in glob.of_type(RECORD) if r.inputs["name"] == "myark.io" and r.inputs["type"] == "A"]
    assert len(apex) == 1
    client = glob.one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["callbackUrls"] == [
        "https://eu-central-1.app.myark.io/auth/callback",
        "https://us-east-1.app.myark.io/auth/callback",
    ]
    assert client["allowedOauthFlows"] == ["code"] and "openid" in client["allowedOauthScopes"]


def _cnames(p: Plan) -> list[str]:
    return [r.inputs["name"] for r in p.of_type(RECORD) if r.inputs.get("type") == "CNAME"]


def test_dev_plan_exits_1_naming_rule_urn_value_allowed_and_origin(monkeypatch, capsys) -> None:
    """The old provider id `aws`, put back: the plan refuses it and says why."""
    from cells.cli.main import main
    from cells.infra.components import federation

    monkeypatch.setattr(federation, "FEDERATION_PROVIDER_ID", "aws")
    assert main(["plan", "eu-central-1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "[gcp-id-format]" in err and "WorkloadIdentityPoolProvider::eu-central-1-aws" in err
    assert "value: workloadIdentityPoolProviderId='aws' (3 chars)" in err
    assert "allowed: 4-32 lowercase" in err and "from: input workloadIdentityPoolProviderId" in err


def test_stack_rules_alone_miss_what_only_the_fleet_shows(tmp_path: Path) -> None:
    """Two cells in a zone both claiming SECONDARY: each plan alone is clean, the fleet is not."""
    a = plan(_record("eu.api.x.io", "SECONDARY", "a"), stack="a")
    b = plan(_record("eu.api.x.io", "SECONDARY", "b"), stack="b")
    assert check_stack(a) == [] and check_stack(b) == []
    assert [v.rule for v in check_fleet_plans([a, b])] == ["route53-failover-roles"]


# ---------------------------------------------------------------------------------------------
# Workflows: the Pulumi CLI's `toolchain: uv` needs uv on the runner.


def test_every_job_that_runs_the_pulumi_cli_installs_uv_first() -> None:
    workflows = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    cli_jobs = 0
    for wf in workflows:
        for job_name, job in (yaml.safe_load(wf.read_text()).get("jobs") or {}).items():
            steps = [s.get("uses", "") for s in job.get("steps", [])]
            cli = [i for i, u in enumerate(steps) if u.startswith("pulumi/actions@")]
            if not cli:
                continue
            cli_jobs += 1
            uv = [i for i, u in enumerate(steps) if u.startswith("astral-sh/setup-uv@")]
            assert uv and uv[0] < cli[0], (
                f"{wf.name}: job {job_name} runs the Pulumi CLI without uv installed"
            )
    assert cli_jobs == 4  # preview (pull request); up, bake (records the last good image), rollback (waves)
    assert "toolchain: uv" in (PROJECT_ROOT / "Pulumi.yaml").read_text()


# ---------------------------------------------------------------------------------------------
# Config: the failover cell and the sign-in's OAuth settings, validated before anything is built.


def _edit(root: Path, stack: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _add_eu_cell(root: Path, name: str, cidr: str, **cell: Any) -> None:
    doc = yaml.safe_load((root / "Pulumi.eu-central-1.yaml").read_text())
    spec = doc["config"]["myark:cell"]
    spec.update(name=name, region="eu-west-1", defaultForZone=False, pilot=False, **cell)
    spec["network"]["cidr"] = cidr
    spec["gcp"]["project"] = f"myark-{name}"
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_adding_a_cell_never_moves_the_zone_failover(fleet_copy: Path) -> None:
    """The old rule (first non-default cell by name) would hand SECONDARY to `eu-a`, while the
    stack of `eu-west-1` still claimed it."""
    from cells.core.fleet import load_fleet
    from cells.infra.program import role_in_zone

    _add_eu_cell(fleet_copy, "eu-west-1", "10.48.0.0/16", failoverForZone=True)
    before = role_in_zone(load_fleet(fleet_copy), "eu-west-1")
    _add_eu_cell(fleet_copy, "eu-a", "10.64.0.0/16")
    fleet = load_fleet(fleet_copy)
    assert before == role_in_zone(fleet, "eu-west-1") == "secondary"
    assert role_in_zone(fleet, "eu-a") == "member" and role_in_zone(fleet, "eu-central-1") == "primary"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda root: _edit(root, "eu-central-1", lambda c: c["myark:cell"].update(failoverForZone=True)),
            "the zone's default cell cannot also be its failover",
        ),
        (
            lambda root: [
                _add_eu_cell(root, "eu-west-1", "10.48.0.0/16", failoverForZone=True),
                _add_eu_cell(root, "eu-north-1", "10.64.0.0/16", failoverForZone=True),
            ],
            "zone eu has 2 failover cells",
        ),
        (
            lambda root: _edit(
                root,
                "global",
                lambda c: c["myark:global"].update(auth={"extraCallbackUrls": ["http://evil.io/cb"]}),
            ),
            "uses http (only http://localhost may)",
        ),
        (
            lambda root: _edit(
                root,
                "global",
                lambda c: c["myark:global"].update(auth={"extraCallbackUrls": ["https://a.io/#x"]}),
            ),
            "has a fragment",
        ),
        (
            lambda root: _edit(
                root, "global", lambda c: c["myark:global"].update(auth={"scopes": ["email"]})
            ),
            "need openid",
        ),
        (
            lambda root: _edit(
                root, "global", lambda c: c["myark:global"].update(auth={"flows": ["password"]})
            ),
            "myark:global.auth.flows.0",
        ),
        (
            lambda root: _edit(
                root, "global", lambda c: c["myark:global"].update(auth={"scopes": ["all things"]})
            ),
            "is not an OAuth scope",
        ),
    ],
)
def test_failover_and_auth_config_are_refused_with_one_clear_message(
    fleet_copy: Path, change: Callable[[Path], Any], expected: str
) -> None:
    from cells.core.errors import ConfigError
    from cells.core.fleet import load_fleet

    change(fleet_copy)
    with pytest.raises(ConfigError) as err:
        load_fleet(fleet_copy)
    assert expected in str(err.value) and "Traceback" not in str(err.value)


def test_auth_config_flows_into_the_app_client(fleet_copy: Path) -> None:
    auth = {
        "callbackPath": "/signed-in",
        "extraCallbackUrls": ["http://localhost:3000/cb"],
        "scopes": ["openid"],
    }
    _edit(fleet_copy, "global", lambda c: c["myark:global"].update(auth=auth))
    client = record_plan("global", root=fleet_copy).one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["callbackUrls"] == [
        "https://eu-central-1.app.myark.io/signed-in",
        "https://us-east-1.app.myark.io/signed-in",
        "http://localhost:3000/cb",
    ]
    assert client["allowedOauthScopes"] == ["openid"] and client["supportedIdentityProviders"] == ["COGNITO"]
