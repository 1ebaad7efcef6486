"""Provider rules on the web front door (cells/guardrails/provider_rules/web.py): the API's WAF, the
Cognito sign-in domain and app client, the web app's CSP; and the sign-in's OAuth config, refused
before anything is built or flowing into the app client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from provider_rules_support import (
    RECORD,
    Cases,
    case_tests,
    edit,
    plan,
    res,
)

from cells.guardrails.provider_rules import web
from cells.offline.plan import PlannedResource, record_plan


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


CASES: Cases = {
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
}


(
    test_every_rule_of_the_theme_has_a_failing_and_a_passing_case,
    test_rule_fails_on_what_the_service_refuses,
    test_rule_passes_what_the_service_takes,
) = case_tests(CASES, web)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda root: edit(
                root,
                "global",
                lambda c: c["myark:global"].update(auth={"extraCallbackUrls": ["http://evil.io/cb"]}),
            ),
            "uses http (only http://localhost may)",
        ),
        (
            lambda root: edit(
                root,
                "global",
                lambda c: c["myark:global"].update(auth={"extraCallbackUrls": ["https://a.io/#x"]}),
            ),
            "has a fragment",
        ),
        (
            lambda root: edit(root, "global", lambda c: c["myark:global"].update(auth={"scopes": ["email"]})),
            "need openid",
        ),
        (
            lambda root: edit(
                root, "global", lambda c: c["myark:global"].update(auth={"flows": ["password"]})
            ),
            "myark:global.auth.flows.0",
        ),
        (
            lambda root: edit(
                root, "global", lambda c: c["myark:global"].update(auth={"scopes": ["all things"]})
            ),
            "is not an OAuth scope",
        ),
    ],
)
def test_auth_config_is_refused_with_one_clear_message(
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
    edit(fleet_copy, "global", lambda c: c["myark:global"].update(auth=auth))
    client = record_plan("global", root=fleet_copy).one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["callbackUrls"] == [
        "https://eu-central-1.app.myark.io/signed-in",
        "https://us-east-1.app.myark.io/signed-in",
        "http://localhost:3000/cb",
    ]
    assert client["allowedOauthScopes"] == ["openid"] and client["supportedIdentityProviders"] == ["COGNITO"]
