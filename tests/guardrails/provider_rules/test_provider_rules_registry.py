"""The provider-rule registry: every rule in a theme module and the generated docs table current;
the real stacks plan with none broken; CI installs what the Pulumi CLI needs."""

from __future__ import annotations

import json

from provider_rules_support import RECORD

from cells.core.config.stack_files import PROJECT_ROOT, list_stacks
from cells.guardrails.provider_rules import fleet, names, pairings, web
from cells.guardrails.provider_rules.registry import RULES, check_fleet_plans, markdown_table
from cells.offline.plan import Plan

# Each theme's test module checks its rules have a case the service refuses and one it takes.
THEMES = (names, pairings, web, fleet)


def test_every_rule_is_in_a_theme_and_cites_a_source() -> None:
    assert {r.check.__module__ for r in RULES} == {t.__name__ for t in THEMES}
    for r in RULES:
        assert r.source.startswith("https://"), r.id


def test_the_docs_table_lists_every_rule_with_its_source_and_is_current() -> None:
    doc = (PROJECT_ROOT / "docs" / "provider-rules.md").read_text()
    assert doc == markdown_table(), "run: ./dev docs"
    for r in RULES:
        assert f"`{r.id}`" in doc and r.source in doc


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
