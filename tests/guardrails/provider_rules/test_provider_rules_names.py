"""Provider rules on names and ids (cells/guardrails/provider_rules/names.py), and the names the
program derives from a cell's name staying within them."""

from __future__ import annotations

import pytest
from provider_rules_support import LB, Cases, case_tests, plan, res

from cells.core.naming import (
    AUTONAME_SUFFIX_LENGTH,
    api_service_account_id,
    federation_pool_id,
    load_balancer_name,
    target_group_name,
    within,
)
from cells.guardrails.provider_rules import names

CASES: Cases = {
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
}


(
    test_every_rule_of_the_theme_has_a_failing_and_a_passing_case,
    test_rule_fails_on_what_the_service_refuses,
    test_rule_passes_what_the_service_takes,
) = case_tests(CASES, names)


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
