"""The holes the scanners and a review found, each closed and held closed on the recorded plans."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from cells.offline.mocks import MOCK_ACCOUNT, MyarkMocks

CELLS = ("eu-central-1", "us-east-1")


def statements(policy: str) -> list[dict[str, Any]]:
    return json.loads(policy)["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_of(resource) -> str:
    """The ARN the offline plan's engine gave a resource."""
    _, state = MyarkMocks().outputs_for(resource.type, resource.name, resource.inputs, resource.region)
    return state["arn"]


def task_role_statements(plan) -> list[dict[str, Any]]:
    return [
        s
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.inputs["role"].startswith(f"{plan.stack}-api-task-role")
        for s in statements(r.inputs["policy"])
    ]


# --- identity -------------------------------------------------------------------------------------


def test_cognito_requires_mfa_verifies_a_new_email_before_it_counts_and_enforces_threat_protection(
    plan_of,
) -> None:
    pool = plan_of("global").one("aws:cognito/userPool:UserPool").inputs
    assert pool["mfaConfiguration"] == "ON"
    assert pool["softwareTokenMfaConfiguration"] == {"enabled": True}
    # The SDK's own key: a misspelt one reaches the provider snake_cased and is dropped silently.
    assert pool["userAttributeUpdateSettings"] == {"attributesRequireVerificationBeforeUpdates": ["email"]}
    assert pool["userPoolAddOns"] == {"advancedSecurityMode": "ENFORCED"}
    assert pool["userPoolTier"] == "PLUS"  # threat protection needs the Plus feature plan


@pytest.mark.parametrize(
    ("stack", "type_"),
    [
        ("global", "aws:cloudwatch/eventBus:EventBus"),
        ("global", "aws:cognito/userPoolClient:UserPoolClient"),
        ("eu-central-1", "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"),
        ("eu-central-1", "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"),
        ("eu-central-1", "gcp:serviceaccount/account:Account"),
    ],
)
def test_identities_others_hold_by_id_are_protected(plan_of, stack: str, type_: str) -> None:
    for r in plan_of(stack).of_type(type_):
        assert r.protect and r.retain_on_delete, r.urn


# --- grants as intent -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CELLS)
def test_every_task_role_statement_names_resources_of_its_own_service(plan_of, stack: str) -> None:
    found = task_role_statements(plan_of(stack))
    assert found
    for s in found:
        services = {a.split(":")[0] for a in as_list(s["Action"])}
        assert len(services) == 1, s
        (service,) = services
        arn_service = {"events": "events", "s3": "s3", "kms": "kms", "ssm": "ssm"}[service]
        for resource in as_list(s["Resource"]):
            assert resource.split(":")[2] == arn_service, f"{service} actions on {resource}"


@pytest.mark.parametrize("stack", CELLS)
def test_key_grants_go_through_the_service_that_uses_the_key(plan_of, stack: str) -> None:
    key_statements = [
        s for s in task_role_statements(plan_of(stack)) if as_list(s["Action"])[0].startswith("kms:")
    ]
    assert len(key_statements) == 2  # documents (through S3), shard map (through SSM)
    via = sorted(v for s in key_statements for v in s["Condition"]["StringEquals"]["kms:ViaService"])
    assert via == [f"s3.{stack}.amazonaws.com", f"ssm.{stack}.amazonaws.com"]


@pytest.mark.parametrize("stack", CELLS)
def test_documents_are_guarded_from_erasure_by_everyone_the_api_included(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    policy = statements(plan.one("aws:s3/bucketPolicy:BucketPolicy", "-documents-policy").inputs["policy"])
    guard = next(s for s in policy if s.get("Sid") == "DenyVersionErasure")
    assert guard["Effect"] == "Deny" and guard["Principal"] == "*"
    assert guard["Action"] == ["s3:DeleteObjectVersion"] and guard["Resource"].endswith("/*")
    granted = {a for s in task_role_statements(plan) for a in as_list(s["Action"])}
    assert "s3:DeleteObjectVersion" not in granted and "s3:*" not in granted


# --- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CELLS)
def test_only_the_cells_own_distribution_may_decrypt_its_site(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    for key in plan.of_type("aws:kms/key:Key"):
        assert "cloudfront" not in key.inputs.get("policy", ""), key.urn
    site_key = plan.one("aws:kms/key:Key", "-site-key")
    sse = plan.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "-site-encryption",
    )
    by_default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert by_default["kmsMasterKeyId"] == arn_of(site_key)
    policy = statements(plan.one("aws:kms/keyPolicy:KeyPolicy", "-site-key-policy").inputs["policy"])
    cdn = next(s for s in policy if s["Principal"] == {"Service": "cloudfront.amazonaws.com"})
    assert cdn["Action"] == ["kms:Decrypt"]
    assert cdn["Condition"] == {
        "StringEquals": {"aws:SourceArn": arn_of(plan.one("aws:cloudfront/distribution:Distribution"))}
    }


# --- network --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CELLS)
def test_flow_logs_role_trusts_only_this_accounts_flow_logs(plan_of, stack: str) -> None:
    role = plan_of(stack).one("aws:iam/role:Role", "-flow-logs-role")
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:ec2:{stack}:{MOCK_ACCOUNT}:vpc-flow-log/*"
    }


@pytest.mark.parametrize("stack", CELLS)
def test_every_vpc_endpoint_admits_only_this_accounts_principals_and_resources(plan_of, stack: str) -> None:
    endpoints = plan_of(stack).of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert len(endpoints) == 7
    for e in endpoints:
        first, *rest = statements(e.inputs["policy"])
        assert first["Condition"]["StringEquals"] == {
            "aws:PrincipalAccount": MOCK_ACCOUNT,
            "aws:ResourceAccount": MOCK_ACCOUNT,
        }, e.urn
        assert "*" not in as_list(first["Action"]), e.urn
        for s in rest:  # ECR's layer bucket, AWS-owned: read only, this account's principals only
            assert s["Action"] == ["s3:GetObject"] and "starport-layer-bucket" in s["Resource"]
            assert s["Condition"]["StringEquals"] == {"aws:PrincipalAccount": MOCK_ACCOUNT}


@pytest.mark.parametrize("stack", CELLS)
def test_the_execution_role_has_no_managed_policy_and_no_star_resource(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    assert not plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    policy = statements(plan.one("aws:iam/rolePolicy:RolePolicy", "-execution-policy").inputs["policy"])
    for s in policy:
        for resource in as_list(s["Resource"]):
            assert resource != "*" and resource.startswith(
                f"arn:aws:logs:{stack}:{MOCK_ACCOUNT}:log-group:"
            ), s


def test_a_private_ecr_image_gets_pulls_from_its_own_repository_only() -> None:
    from cells.infra.components.api import execution_statements

    image = f"{MOCK_ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com/myark/api@sha256:{'a' * 64}"
    found = execution_statements(image, "arn:aws:logs:eu-central-1:123456789012:log-group:api")
    pull = next(s for s in found if s["Sid"] == "ImagePull")
    assert pull["Resource"] == f"arn:aws:ecr:eu-central-1:{MOCK_ACCOUNT}:repository/myark/api"
    login = next(s for s in found if s["Sid"] == "RegistryLogin")
    assert login["Action"] == ["ecr:GetAuthorizationToken"]  # the one action IAM allows only on "*"
    assert all(s["Resource"] != "*" for s in found if s["Sid"] != "RegistryLogin")
    public = execution_statements("public.ecr.aws/myark/api:1", "arn:aws:logs:eu-central-1:1:log-group:x")
    assert [s["Sid"] for s in public] == ["TaskLogs"]
    assert isinstance(public[0]["Resource"], pulumi.Output)


# --- per-database access --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CELLS)
def test_the_api_reaches_each_firestore_database_only_through_its_own_conditional_grant(
    plan_of, stack: str
) -> None:
    plan = plan_of(stack)
    databases = {r.inputs["name"] for r in plan.of_type("gcp:firestore/database:Database")}
    grants = [
        r
        for r in plan.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["role"] == "roles/datastore.user"
    ]
    assert len(grants) == len(databases)
    project = grants[0].inputs["project"]
    reached = set()
    for g in grants:
        expression = g.inputs["condition"]["expression"]
        named = {db for db in databases if f'"projects/{project}/databases/{db}"' in expression}
        assert len(named) == 1, expression  # one database per grant, never the whole project
        reached |= named
    assert reached == databases


def test_a_dedicated_tenants_database_has_a_grant_of_its_own(plan_of) -> None:
    grant = plan_of("us-east-1").one(
        "gcp:projects/iAMMember:IAMMember", "-api-firestore-tenant-acme-insurance"
    )
    condition = grant.inputs["condition"]
    assert "tenant acme-insurance" in condition["description"]
    assert condition["expression"].count("databases/tenant-acme-insurance") == 2
    assert "databases/shard" not in condition["expression"]


# --- the edge -------------------------------------------------------------------------------------


def test_the_hosted_zone_is_signed_and_its_queries_logged_in_us_east_1(plan_of) -> None:
    plan = plan_of("global")
    zone = plan.one("aws:route53/zone:Zone")
    key = plan.one("aws:kms/key:Key", "-dnssec-key")
    assert key.region == "us-east-1" and key.protect
    assert (key.inputs["customerMasterKeySpec"], key.inputs["keyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    dnssec_service = next(
        s for s in statements(key.inputs["policy"]) if s.get("Sid") == "Route53DnssecOfThisAccount"
    )
    assert dnssec_service["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT}
    assert plan.one("aws:route53/keySigningKey:KeySigningKey").inputs["status"] == "ACTIVE"
    assert plan.one("aws:route53/hostedZoneDnsSec:HostedZoneDnsSec").inputs["signingStatus"] == "SIGNING"
    log = plan.one("aws:route53/queryLog:QueryLog").inputs
    group = plan.one("aws:cloudwatch/logGroup:LogGroup", "-query-logs")
    assert group.region == "us-east-1" and group.inputs["name"] == f"/aws/route53/{zone.inputs['name']}"
    assert (
        log["cloudwatchLogGroupArn"]
        == f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT}:log-group:/aws/route53/myark.io"
    )
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")


@pytest.mark.parametrize("stack", CELLS)
def test_the_frontend_has_a_web_acl_in_us_east_1_that_keeps_no_user_data(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    acl = plan.one("aws:wafv2/webAcl:WebAcl", "-cdn-waf")
    assert acl.inputs["scope"] == "CLOUDFRONT" and acl.inputs["region"] == "us-east-1"
    groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in acl.inputs["rules"]]
    assert {"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAnonymousIpList"} <= set(groups)
    assert all(not r["visibilityConfig"]["sampledRequestsEnabled"] for r in acl.inputs["rules"])
    assert not [
        r
        for r in plan.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
        if "cdn" in r.name
    ]
    assert (
        plan.one("aws:cloudfront/distribution:Distribution")
        .inputs["webAclId"]
        .startswith("arn:aws:wafv2:us-east-1:")
    )


@pytest.mark.parametrize("stack", CELLS)
def test_the_load_balancer_refuses_anonymizing_networks_but_counts_hosting_providers(
    plan_of, stack: str
) -> None:
    acl = plan_of(stack).one("aws:wafv2/webAcl:WebAcl", f"{stack}-waf")
    rule = next(r for r in acl.inputs["rules"] if r["name"] == "AWSManagedRulesAnonymousIpList")
    assert rule["overrideAction"] == {"none": {}}
    overrides = rule["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "HostingProviderIPList", "actionToUse": {"count": {}}}]


@pytest.mark.parametrize("stack", CELLS)
def test_every_bucket_sends_its_object_events_to_eventbridge(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    buckets = {r.name for r in plan.of_type("aws:s3/bucket:Bucket")}
    notified = {
        r.name.removesuffix("-events")
        for r in plan.of_type("aws:s3/bucketNotification:BucketNotification")
        if r.inputs["eventbridge"] is True
    }
    assert notified == buckets
