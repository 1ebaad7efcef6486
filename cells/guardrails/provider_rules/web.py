"""The web front door: the API's WAF, the Cognito sign-in domain and app client, the web app's CSP."""

from __future__ import annotations

from collections.abc import Iterator

from cells.core.naming import callback_url_problem
from cells.guardrails.provider_rules.registry import Violation, cell_name, get_path, rule
from cells.offline.plan import Plan

# The managed rule in AWSManagedRulesCommonRuleSet that blocks request bodies over 8 KB.
WAF_BODY_SIZE_RULE = "SizeRestrictions_BODY"


@rule(
    "waf-common-body-size",
    "AWS WAF",
    "A regional web ACL (the API's) using AWSManagedRulesCommonRuleSet overrides its SizeRestrictions_BODY rule (which blocks "
    "bodies over 8 KB), so uploads through the API are not blocked; the ACL scopes its own size limit.",
    "https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html",
)
def _waf_body(plan: Plan) -> Iterator[Violation]:
    for r in plan.of_type("aws:wafv2/webAcl:WebAcl"):
        if r.inputs.get("scope") != "REGIONAL":
            continue  # CLOUDFRONT ACLs front the static web app, which takes no uploads
        for rl in r.inputs.get("rules") or []:
            group = get_path(rl, "statement", "managedRuleGroupStatement") or {}
            if group.get("name") != "AWSManagedRulesCommonRuleSet":
                continue
            overridden = {o.get("name") for o in group.get("ruleActionOverrides") or []}
            if WAF_BODY_SIZE_RULE not in overridden and not group.get("scopeDownStatement"):
                yield Violation(
                    "waf-common-body-size",
                    r.urn,
                    f"rule {rl.get('name')!r}: {WAF_BODY_SIZE_RULE} blocks bodies over 8 KB everywhere",
                    f"ruleActionOverrides for {WAF_BODY_SIZE_RULE} (count) or a scope-down statement",
                    "cells/infra/components/load_balancer.py web ACL rules",
                )


@rule(
    "cognito-custom-domain-apex",
    "Amazon Cognito",
    "A user pool's custom domain needs its parent domain to resolve: an A record at the parent exists "
    "(and is created before the domain).",
    "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-add-custom-domain.html",
)
def _cognito_apex(plan: Plan) -> Iterator[Violation]:
    a_records = {
        str(r.inputs.get("name", "")).rstrip(".").lower()
        for r in plan.resources
        if r.type in ("aws:route53/record:Record", "cloudflare:index/dnsRecord:DnsRecord")
        and r.inputs.get("type") == "A"
    }
    for r in plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain"):
        domain = str(r.inputs.get("domain", ""))
        if "." not in domain or not r.inputs.get("certificateArn"):
            continue  # a prefix domain on amazoncognito.com
        parent = domain.split(".", 1)[1].lower()
        if parent not in a_records:
            yield Violation(
                "cognito-custom-domain-apex",
                r.urn,
                f"custom domain {domain!r}, no A record for {parent!r} in the plan",
                f"an A record at {parent} before the custom domain is created",
                "myark:domain (the global stack's edge owns the apex record)",
            )


OAUTH_FLOWS = frozenset({"code", "implicit", "client_credentials"})
OAUTH_STANDARD_SCOPES = frozenset({"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"})


@rule(
    "cognito-oauth-client",
    "Amazon Cognito",
    "An app client of a pool with a hosted sign-in domain has OAuth flows (code, implicit, "
    "client_credentials), scopes (email, phone and profile need openid), 1-100 callback URLs (https, or "
    "http://localhost; no fragment) and an identity provider.",
    "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html",
)
def _oauth_client(plan: Plan) -> Iterator[Violation]:
    if not plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain"):
        return
    for r in plan.of_type("aws:cognito/userPoolClient:UserPoolClient"):
        i = r.inputs
        flows = i.get("allowedOauthFlows") or []
        scopes = i.get("allowedOauthScopes") or []
        urls = i.get("callbackUrls") or []
        problems = []
        if not i.get("allowedOauthFlowsUserPoolClient"):
            problems.append("allowedOauthFlowsUserPoolClient is not true")
        if not flows or set(flows) - OAUTH_FLOWS:
            problems.append(f"allowedOauthFlows {flows}")
        if not scopes:
            problems.append("no allowedOauthScopes")
        if {"email", "phone", "profile"} & set(scopes) and "openid" not in scopes:
            problems.append("email/phone/profile scopes without openid")
        if not 1 <= len(urls) <= 100:
            problems.append(f"{len(urls)} callbackUrls")
        for url in [*urls, *(i.get("logoutUrls") or [])]:
            why = callback_url_problem(url)
            if why:
                problems.append(f"{url} {why}")
        if not i.get("supportedIdentityProviders"):
            problems.append("no supportedIdentityProviders")
        if problems:
            yield Violation(
                "cognito-oauth-client",
                r.urn,
                "; ".join(problems),
                "flows in code/implicit/client_credentials, scopes, 1-100 https callback URLs, COGNITO provider",
                "myark:global.auth",
            )


def csp_sources(policy: str, directive: str) -> list[str] | None:
    """The sources a CSP allows for `directive` (falling back to default-src), or None if unset."""
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed.setdefault(words[0].lower(), words[1:])
    return parsed.get(directive, parsed.get("default-src"))


def _csp_allows(sources: list[str], origin: str) -> bool:
    return (
        "*" in sources
        or origin in sources
        or any(s.startswith("https://*.") and origin.endswith(s[len("https://*") :]) for s in sources)
    )


@rule(
    "csp-connect-api",
    "Browsers (Content-Security-Policy)",
    "The web app's CSP connect-src (or default-src, its fallback) admits the origins the app calls: "
    "api.<domain>, <cell>.api.<domain>, auth.<domain> and the Cognito endpoint.",
    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Content-Security-Policy/connect-src",
)
def _csp(plan: Plan) -> Iterator[Violation]:
    from cells.core.naming import api_host, cell_api_host, control_plane_host

    cell, api = cell_name(plan), plan.outputs.get("apiHost")
    if not cell or not isinstance(api, str):
        return
    domain = api.removeprefix(f"{cell}.api.")
    needed = [
        f"https://{h}" for h in (api_host(domain), cell_api_host(cell, domain), control_plane_host(domain))
    ]
    for r in plan.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"):
        policy = get_path(r.inputs, "securityHeadersConfig", "contentSecurityPolicy", "contentSecurityPolicy")
        if not isinstance(policy, str):
            continue
        sources = csp_sources(policy, "connect-src") or []
        missing = [o for o in needed if not _csp_allows(sources, o)]
        if missing:
            yield Violation(
                "csp-connect-api",
                r.urn,
                f"{policy!r} blocks fetches to {', '.join(missing)}",
                "connect-src listing the API, the cell's API and the sign-in origins",
                "cells/infra/components/frontend.py security headers, from myark:domain and myark:cell.name",
            )
