"""The guardrails: every rule passes a good resource and stops a bad one, with a fix in the message.

Rules are called exactly as the engine calls them (`policy.validate(args, report_violation)`, props
behind pulumi_policy's unknown-checking proxy); the recorded plans of the real stacks must pass, and
a deliberately broken program must be stopped.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_policy
import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails import policies as p
from cells.guardrails.policies import (
    ALL_POLICIES,
    check_plan,
    make_args,
    make_policy_resource,
    make_stack_args,
)
from cells.offline.plan import Plan, PlannedResource, record_plan

EU = {
    "myark:kind": "cell",
    "myark:domain": "myark.io",
    "myark:cell": {"name": "eu-central-1", "region": "eu-central-1"},
}
US_WITH_TENANT = {
    "myark:kind": "cell",
    "myark:domain": "myark.io",
    "myark:cell": {
        "name": "us-east-1",
        "region": "us-east-1",
        "shards": {
            "tenants": {"acme-insurance": {"physical": "tenant-acme-insurance", "dedicatedKmsKey": True}}
        },
    },
}
GLOBAL = {"myark:kind": "global", "myark:domain": "myark.io", "myark:global": {"region": "us-east-1"}}
EU_TAGS = {"myark:cell": "eu-central-1", "myark:region": "eu-central-1", "myark:residency": "eu"}
EU_LABELS = {"myark-cell": "eu-central-1", "myark-region": "eu-central-1", "myark-residency": "eu"}
LB_URN = (
    "urn:pulumi:eu-central-1::myark-cells::myark:cell:Cell$myark:network:LoadBalancer${}::eu-central-1-{}"
)
API_URN = "urn:pulumi:eu-central-1::myark-cells::myark:cell:Cell$myark:compute:ApiService${}::eu-central-1-{}"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def run(policy, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """The messages `policy` reports for one resource of an EU cell (unless told otherwise)."""
    kwargs.setdefault("stack_config", EU)
    kwargs.setdefault("provider_props", {"region": "eu-central-1"})
    found: list[str] = []
    policy.validate(make_args(type_, props, **kwargs), lambda message, urn=None: found.append(message))
    for message in found:
        assert message.endswith(f" Remediation: {policy.remediation_steps}"), message
    return found


def one(policy, type_: str, props: Mapping[str, Any], **kwargs: Any) -> str:
    found = run(policy, type_, props, **kwargs)
    assert len(found) == 1, found
    return found[0]


def run_stack(policy, resources, stack_config=EU) -> list[tuple[str | None, str]]:
    found: list[tuple[str | None, str]] = []
    policy.validate(
        make_stack_args(resources, stack_config=stack_config),
        lambda message, urn=None: found.append((urn, message)),
    )
    return found


# --- the pack as a whole --------------------------------------------------------------------------


def test_every_policy_is_named_described_levelled_and_remediable() -> None:
    names = [policy.name for policy in ALL_POLICIES]
    assert len(names) == len(set(names)) >= 20
    for policy in ALL_POLICIES:
        assert policy.description and policy.remediation_steps, policy.name
        assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    advisory = {x.name for x in ALL_POLICIES if x.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"gcp-cmek-recommended", "kms-deletion-window"}


def test_the_readme_documents_every_policy_with_its_level() -> None:
    readme = (PROJECT_ROOT / "policy" / "README.md").read_text()
    for policy in ALL_POLICIES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{policy.name}` |")), None)
        assert row is not None, f"policy/README.md has no row for {policy.name}"
        level = policy.enforcement_level
        assert level is not None and f"| {level.value} |" in row, policy.name


def test_the_pack_project_runs_python_from_the_project_virtualenv() -> None:
    doc = yaml.safe_load((PROJECT_ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}
    assert doc["description"]


def test_the_pack_entry_point_serves_all_policies(monkeypatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: served.update(kwargs))
    runpy.run_path(str(PROJECT_ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert served["name"] == "myark-guardrails"
    assert [x.name for x in served["policies"]] == [x.name for x in ALL_POLICIES]


def test_a_real_run_reads_the_stack_config_from_the_environment(monkeypatch) -> None:
    # What the engine hands the pack: its own args (no stack_config) and the config in PULUMI_CONFIG.
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({"myark:kind": "cell", "myark:cell": json.dumps(EU["myark:cell"])})
    )
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "aws")
    args = ResourceValidationArgs(
        "aws:sqs/queue:Queue", unknown_checking_proxy({}), "urn:q", "q", opts, provider
    )
    found: list[str] = []
    p.RESIDENCY.validate(args, lambda message, urn=None: found.append(message))
    assert len(found) == 1 and "is in us-east-1, outside residency zone 'eu'" in found[0]


def test_a_value_unknown_during_preview_only_matters_where_a_rule_reads_it() -> None:
    props = {
        "bucket": UNKNOWN_STRING_VALUE,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert run(p.PUBLIC_ACCESS_BLOCK, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", props) == []
    with pytest.raises(UnknownValueError):  # the engine reports "can't run during preview"
        run(p.BUCKET_POLICY_NOT_PUBLIC, p.S3_BUCKET_POLICY, {"policy": UNKNOWN_STRING_VALUE})


# --- residency ----------------------------------------------------------------------------------------


def test_residency_passes_a_resource_in_the_cells_region() -> None:
    assert run(p.RESIDENCY, p.S3_BUCKET, {"tags": EU_TAGS}) == []


def test_residency_stops_a_bucket_in_another_zone() -> None:
    message = one(p.RESIDENCY, p.S3_BUCKET, {"region": "us-east-1"})
    assert message.startswith(
        "aws:s3/bucket:Bucket is in us-east-1, outside residency zone 'eu' (eu-central-1"
    )


def test_residency_reads_the_zone_from_the_resources_own_tag_before_the_stack() -> None:
    message = one(p.RESIDENCY, p.SQS_QUEUE, {"tags": {"myark:residency": "us"}}, stack_config={})
    assert "is in eu-central-1, outside residency zone 'us'" in message
    assert run(p.RESIDENCY, p.SQS_QUEUE, {}, stack_config={}) == []  # no zone known: nothing to hold it to


def test_residency_reads_gcp_locations_and_labels() -> None:
    assert run(p.RESIDENCY, p.BIGQUERY_DATASET, {"location": "EU", "labels": EU_LABELS}) == []
    message = one(
        p.RESIDENCY, p.FIRESTORE_DATABASE, {"locationId": "nam5"}, provider_props={"region": "europe-west3"}
    )
    assert "gcp:firestore/database:Database is in nam5, outside residency zone 'eu'" in message
    message = one(
        p.RESIDENCY, "gcp:pubsub/topic:Topic", {"labels": EU_LABELS}, provider_props={"region": "us-east4"}
    )
    assert "is in us-east4" in message


def test_residency_stops_an_unknown_zone_tag() -> None:
    assert "names no known zone" in one(p.RESIDENCY, p.S3_BUCKET, {"tags": {"myark:residency": "mars"}})


def test_the_global_stack_is_exempt_from_zones() -> None:
    assert run(p.RESIDENCY, p.S3_BUCKET, {"region": "eu-west-1"}, stack_config=GLOBAL) == []
    assert (
        run(p.RESIDENCY, p.S3_BUCKET, {"tags": {"myark:residency": "global"}, "region": "ap-south-1"}) == []
    )


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        pytest.param("aws:iam/role:Role", {}, id="iam-is-global"),
        pytest.param("aws:route53/record:Record", {}, id="route53-is-global"),
        pytest.param(p.CLOUDFRONT_DISTRIBUTION, {}, id="cloudfront-is-global"),
        pytest.param(
            p.ACM_CERTIFICATE,
            {"region": "us-east-1", "domainName": "eu-central-1.app.myark.io"},
            id="cloudfront-certificate",
        ),
        pytest.param(
            "aws:acm/certificateValidation:CertificateValidation",
            {"region": "us-east-1", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/c"},
            id="certificate-validation-waiter",
        ),
        pytest.param(
            "aws:wafv2/webAcl:WebAcl", {"region": "us-east-1", "scope": "CLOUDFRONT"}, id="cloudfront-waf"
        ),
        pytest.param("cloudflare:index/dnsRecord:DnsRecord", {"region": "us-east-1"}, id="cloudflare-edge"),
        pytest.param(
            "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
            {"location": "global"},
            id="workload-identity-pool",
        ),
        pytest.param(
            "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
            {"location": "global"},
            id="workload-identity-provider",
        ),
        pytest.param("gcp:serviceaccount/account:Account", {"location": "global"}, id="service-account"),
    ],
)
def test_residency_exceptions_hold_no_user_data(type_: str, props: dict) -> None:
    assert run(p.RESIDENCY, type_, props, provider_props={"region": "us-east-1"}) == []


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        pytest.param(
            p.ACM_CERTIFICATE,
            {"region": "us-east-1", "domainName": "eu-central-1.api.myark.io"},
            id="certificate-of-the-api-not-the-app",
        ),
        pytest.param(
            p.ACM_CERTIFICATE,
            {
                "region": "us-east-1",
                "domainName": "eu-central-1.app.myark.io",
                "subjectAlternativeNames": ["api.myark.io"],
            },
            id="app-cert-with-api-san",
        ),
        pytest.param(
            p.ACM_CERTIFICATE,
            {"region": "us-east-1", "domainName": "eu-central-1.app.other.io"},
            id="app-cert-of-another-domain",
        ),
        pytest.param(
            p.ACM_CERTIFICATE,
            {"region": "us-west-2", "domainName": "eu-central-1.app.myark.io"},
            id="app-cert-outside-us-east-1",
        ),
        pytest.param(
            "aws:wafv2/webAcl:WebAcl", {"region": "us-east-1", "scope": "REGIONAL"}, id="regional-waf"
        ),
    ],
)
def test_residency_exceptions_are_narrow(type_: str, props: dict) -> None:
    assert "outside residency zone 'eu'" in one(p.RESIDENCY, type_, props)


@pytest.mark.parametrize(
    ("type_", "props", "text"),
    [
        pytest.param(
            p.BACKUP_PLAN,
            {
                "rules": [
                    {
                        "copyActions": [
                            {"destinationVaultArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:dr"}
                        ]
                    }
                ]
            },
            "backup copy to arn:aws:backup:us-east-1:123456789012:backup-vault:dr goes to us-east-1",
            id="backup",
        ),
        pytest.param(
            p.DYNAMODB_TABLE,
            {"replicas": [{"regionName": "us-west-2"}]},
            "global table replica goes to us-west-2",
            id="dynamodb-replica",
        ),
        pytest.param(
            p.LOG_SUBSCRIPTION,
            {"destinationArn": "arn:aws:firehose:us-east-1:1:deliverystream/x"},
            "log subscription to arn:aws:firehose:us-east-1:1:deliverystream/x goes to us-east-1",
            id="log-subscription",
        ),
        pytest.param(
            p.ECR_REPLICATION,
            {
                "replicationConfiguration": {
                    "rules": [{"destinations": [{"region": "us-east-2", "registryId": "1"}]}]
                }
            },
            "image replication goes to us-east-2",
            id="ecr",
        ),
        pytest.param(
            p.S3_BUCKET,
            {"replicationConfiguration": {"role": "r", "rules": []}},
            "inline bucket replication (unverifiable: S3 ARNs carry no region) goes to an unknown region",
            id="inline-s3-replication",
        ),
    ],
)
def test_no_copy_leaves_the_zone(type_: str, props: dict, text: str) -> None:
    assert one(p.NO_CROSS_ZONE_COPIES, type_, props).startswith(f"{text}, outside residency zone 'eu'.")


def test_copies_inside_the_zone_pass() -> None:
    plan = {
        "rules": [{"copyActions": [{"destinationVaultArn": "arn:aws:backup:eu-west-1:1:backup-vault:dr"}]}]
    }
    assert run(p.NO_CROSS_ZONE_COPIES, p.BACKUP_PLAN, plan) == []
    assert run(p.NO_CROSS_ZONE_COPIES, p.DYNAMODB_TABLE, {"replicas": [{"regionName": "eu-north-1"}]}) == []


def _bucket(name: str, region: str, **props: Any):
    return make_policy_resource(
        p.S3_BUCKET,
        {"bucket": name, "arn": f"arn:aws:s3:::{name}", "region": region, **props},
        name=name,
        urn=f"urn:b::{name}",
    )


def _replication(destination: str):
    rules = [{"id": "dr", "status": "Enabled", "destination": {"bucket": f"arn:aws:s3:::{destination}"}}]
    return make_policy_resource(p.S3_REPLICATION, {"bucket": "docs", "rules": rules}, urn="urn:replication")


def test_replication_to_a_bucket_of_the_stack_in_the_zone_passes() -> None:
    assert (
        run_stack(
            p.S3_REPLICATION_IN_ZONE,
            [_bucket("docs", "eu-central-1"), _bucket("dr", "eu-west-1"), _replication("dr")],
        )
        == []
    )


def test_replication_to_a_bucket_outside_the_zone_is_stopped() -> None:
    [(urn, message)] = run_stack(p.S3_REPLICATION_IN_ZONE, [_bucket("dr", "us-east-1"), _replication("dr")])
    assert urn == "urn:replication"
    assert message.startswith(
        "replicates to arn:aws:s3:::dr in us-east-1 (residency 'eu'), outside residency zone"
    )


def test_replication_to_a_bucket_this_stack_does_not_manage_is_stopped() -> None:
    [(_, message)] = run_stack(p.S3_REPLICATION_IN_ZONE, [_replication("elsewhere")])
    assert "replicates to arn:aws:s3:::elsewhere, a bucket this stack does not manage" in message
    assert message.endswith(f"Remediation: {p.S3_REPLICATION_IN_ZONE.remediation_steps}")


# --- encryption at rest ---------------------------------------------------------------------------


def _sse(algorithm: str) -> dict:
    return {
        "bucket": "docs-0a1b2c3d4e",
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}],
    }


SSE = p.S3_SSE[0]


def test_s3_kms_encryption_passes() -> None:
    assert run(p.S3_ENCRYPTION, SSE, _sse("aws:kms"), name="eu-documents-encryption") == []


def test_s3_aes256_is_for_log_buckets_only() -> None:
    assert run(p.S3_ENCRYPTION, SSE, _sse("AES256"), name="eu-central-1-logs-encryption") == []
    assert (
        run(
            p.S3_ENCRYPTION,
            SSE,
            {**_sse("AES256"), "bucket": "eu-central-1-logs-a8703f2e21dba817c"},
            name="archive-sse",
        )
        == []
    )
    message = one(p.S3_ENCRYPTION, SSE, _sse("AES256"), name="eu-documents-encryption")
    assert message.startswith("SSE-S3 (AES256) is only for log buckets (named *-logs)")


def test_s3_encryption_needs_a_rule() -> None:
    assert one(p.S3_ENCRYPTION, SSE, {"bucket": "b", "rules": []}).startswith(
        "the bucket encryption configuration"
    )


def test_every_bucket_has_its_encryption_and_public_access_block() -> None:
    bucket = _bucket("docs", "eu-central-1")
    sse = make_policy_resource(SSE, {"bucket": "docs"})
    block = make_policy_resource(p.S3_PUBLIC_ACCESS_BLOCKS[0], {"bucket": "docs"})
    assert run_stack(p.BUCKET_GUARDS_PRESENT, [bucket, sse, block]) == []
    found = run_stack(p.BUCKET_GUARDS_PRESENT, [bucket])
    assert [(u, m.split(" Remediation:")[0]) for u, m in found] == [
        ("urn:b::docs", "the bucket has no BucketServerSideEncryptionConfiguration."),
        ("urn:b::docs", "the bucket has no BucketPublicAccessBlock."),
    ]


def test_kms_keys_rotate() -> None:
    assert run(p.KMS_ROTATION, p.KMS_KEY, {"enableKeyRotation": True}) == []
    assert one(p.KMS_ROTATION, p.KMS_KEY, {}).startswith("the KMS key does not rotate")
    # AWS cannot rotate asymmetric keys: nothing to ask of them.
    assert run(p.KMS_ROTATION, p.KMS_KEY, {"customerMasterKeySpec": "RSA_2048"}) == []


def test_log_groups_use_the_cell_key() -> None:
    assert run(p.LOG_GROUP_ENCRYPTION, p.LOG_GROUP, {"kmsKeyId": "arn:aws:kms:eu-central-1:1:key/k"}) == []
    assert one(p.LOG_GROUP_ENCRYPTION, p.LOG_GROUP, {}).startswith("the log group has no kmsKeyId")


def test_ssm_parameters_are_secure_strings() -> None:
    assert run(p.SSM_SECURE_STRING, p.SSM_PARAMETER, {"type": "SecureString"}) == []
    assert one(p.SSM_SECURE_STRING, p.SSM_PARAMETER, {"type": "String"}).startswith(
        "the SSM parameter is of type 'String', not SecureString."
    )


def test_dynamodb_tables_use_a_kms_key() -> None:
    assert run(p.DYNAMODB_ENCRYPTION, p.DYNAMODB_TABLE, {"serverSideEncryption": {"enabled": True}}) == []
    assert one(p.DYNAMODB_ENCRYPTION, p.DYNAMODB_TABLE, {}).startswith("the DynamoDB table does not enable")


def test_topics_and_queues_are_encrypted() -> None:
    assert run(p.MESSAGING_ENCRYPTION, p.SNS_TOPIC, {"kmsMasterKeyId": "alias/k"}) == []
    assert one(p.MESSAGING_ENCRYPTION, p.SNS_TOPIC, {}).startswith("the SNS topic has no kmsMasterKeyId.")
    assert run(p.MESSAGING_ENCRYPTION, p.SQS_QUEUE, {"sqsManagedSseEnabled": True}) == []
    assert one(p.MESSAGING_ENCRYPTION, p.SQS_QUEUE, {"sqsManagedSseEnabled": False}).startswith(
        "the SQS queue sets neither"
    )


TENANT_LABELS = {"myark-tenant": "acme-insurance"}
KEY = {"kmsKeyName": "projects/x/locations/us/keyRings/r/cryptoKeys/k"}


def test_a_tenant_with_a_dedicated_key_gets_cmek_on_its_data() -> None:
    kwargs = {"stack_config": US_WITH_TENANT, "provider_props": {"region": "us-east4"}}
    assert (
        run(
            p.CMEK_REQUIRED,
            p.BIGQUERY_DATASET,
            {"labels": TENANT_LABELS, "defaultEncryptionConfiguration": KEY},
            **kwargs,
        )
        == []
    )
    message = one(p.CMEK_REQUIRED, p.BIGQUERY_DATASET, {"labels": TENANT_LABELS}, **kwargs)
    assert message.startswith(
        "gcp:bigquery/dataset:Dataset has no customer-managed key, but tenant "
        "'acme-insurance' has dedicatedKmsKey: true in the stack config."
    )
    assert "has no customer-managed key" in one(
        p.CMEK_REQUIRED, p.BIGQUERY_TABLE, {"labels": TENANT_LABELS}, **kwargs
    )
    message = one(p.CMEK_REQUIRED, p.FIRESTORE_DATABASE, {"name": "tenant-acme-insurance"}, **kwargs)
    assert "database 'tenant-acme-insurance' is the shard of a tenant with dedicatedKmsKey" in message
    assert run(p.CMEK_REQUIRED, p.FIRESTORE_DATABASE, {"name": "users-a"}, **kwargs) == []


def test_the_policy_config_can_require_cmek_everywhere() -> None:
    assert run(p.CMEK_REQUIRED, p.BIGQUERY_DATASET, {}) == []
    message = one(p.CMEK_REQUIRED, p.BIGQUERY_DATASET, {}, config={"requireCmek": True})
    assert "but the policy config sets requireCmek" in message


def test_google_managed_encryption_is_noted_as_advice() -> None:
    assert "encrypted at rest with a Google-managed key" in one(
        p.CMEK_RECOMMENDED, p.FIRESTORE_DATABASE, {"name": "users-a"}
    )
    assert run(p.CMEK_RECOMMENDED, p.FIRESTORE_DATABASE, {"cmekConfig": KEY}) == []
    # Where the mandatory rule applies, the advice stays quiet (one finding, not two).
    assert (
        run(
            p.CMEK_RECOMMENDED,
            p.FIRESTORE_DATABASE,
            {"name": "tenant-acme-insurance"},
            stack_config=US_WITH_TENANT,
        )
        == []
    )


# --- public access ----------------------------------------------------------------------------------

BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


def test_public_access_block_with_all_four_flags_passes() -> None:
    assert run(p.PUBLIC_ACCESS_BLOCK, BLOCK, ALL_BLOCKED) == []


def test_public_access_block_with_a_flag_off_is_stopped() -> None:
    message = one(
        p.PUBLIC_ACCESS_BLOCK, BLOCK, {**ALL_BLOCKED, "blockPublicPolicy": False, "ignorePublicAcls": None}
    )
    assert message.startswith(
        "public access is not fully blocked: blockPublicPolicy, ignorePublicAcls not true."
    )


def _policy(*statements: dict) -> dict:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}, id="deny-everyone"
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": "*",
            },
            id="service-principal",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
            },
            id="everyone-with-condition",
        ),
    ],
)
def test_private_bucket_policies_pass(statement: dict) -> None:
    assert run(p.BUCKET_POLICY_NOT_PUBLIC, p.S3_BUCKET_POLICY, _policy(statement)) == []


@pytest.mark.parametrize(
    "principal",
    [
        pytest.param("*", id="star"),
        pytest.param({"AWS": "*"}, id="aws-star"),
        pytest.param({"AWS": ["arn:aws:iam::1:root", "*"]}, id="aws-list-with-star"),
    ],
)
def test_public_bucket_policies_are_stopped(principal: Any) -> None:
    statement = {
        "Sid": "Open",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    message = one(p.BUCKET_POLICY_NOT_PUBLIC, p.S3_BUCKET_POLICY, _policy(statement))
    assert message.startswith(
        "bucket policy statement 'Open' allows anyone (Principal *) without a Condition."
    )


def test_public_acls_are_stopped() -> None:
    acl = "aws:s3/bucketAcl:BucketAcl"
    assert run(p.ACL_NOT_PUBLIC, acl, {"acl": "private"}) == []
    assert one(p.ACL_NOT_PUBLIC, acl, {"acl": "public-read"}).startswith("the canned ACL 'public-read'")
    grant = {
        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "permission": "READ",
    }
    message = one(p.ACL_NOT_PUBLIC, acl, {"accessControlPolicy": {"grants": [grant], "owner": {"id": "o"}}})
    assert message.startswith("an ACL grant gives READ to AllUsers.")


# --- TLS ------------------------------------------------------------------------------------------

LISTENER = "aws:lb/listener:Listener"


@pytest.mark.parametrize("policy", sorted(p.ALB_SSL_POLICIES))
def test_https_listeners_with_a_tls12_policy_pass(policy: str) -> None:
    assert run(p.LISTENER_TLS, LISTENER, {"protocol": "HTTPS", "port": 443.0, "sslPolicy": policy}) == []


def test_https_listener_with_an_old_policy_is_stopped() -> None:
    message = one(p.LISTENER_TLS, LISTENER, {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"})
    assert message.startswith(
        "the HTTPS listener's sslPolicy is 'ELBSecurityPolicy-2016-08', not a TLS 1.2+ policy."
    )
    assert "unset (AWS then picks ELBSecurityPolicy-2016-08" in one(
        p.LISTENER_TLS, LISTENER, {"protocol": "HTTPS"}
    )


def test_http_listeners_may_only_redirect_to_https() -> None:
    redirect = {
        "type": "redirect",
        "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
    }
    assert run(p.LISTENER_TLS, LISTENER, {"protocol": "HTTP", "defaultActions": [redirect]}) == []
    forward = {"type": "forward", "targetGroupArn": "arn:tg"}
    message = one(p.LISTENER_TLS, LISTENER, {"protocol": "HTTP", "defaultActions": [forward]})
    assert message.startswith("the HTTP listener does more than redirect to HTTPS")
    assert "speaks TCP, which carries no TLS" in one(p.LISTENER_TLS, LISTENER, {"protocol": "TCP"})


def _distribution(version: str = "TLSv1.2_2021", viewer: str = "redirect-to-https", **extra: Any) -> dict:
    return {
        "viewerCertificate": {
            "acmCertificateArn": "arn:c",
            "minimumProtocolVersion": version,
            "sslSupportMethod": "sni-only",
        },
        "defaultCacheBehavior": {"viewerProtocolPolicy": viewer},
        **extra,
    }


def test_cloudfront_with_tls12_and_https_everywhere_passes() -> None:
    assert run(p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, _distribution()) == []
    assert run(p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, _distribution("TLSv1.2_2025", "https-only")) == []


def test_cloudfront_below_tls12_2021_is_stopped() -> None:
    message = one(p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, _distribution("TLSv1.2_2019"))
    assert message.startswith(
        "viewerCertificate.minimumProtocolVersion is 'TLSv1.2_2019', below TLSv1.2_2021."
    )
    default_cert = {
        "viewerCertificate": {"cloudfrontDefaultCertificate": True},
        "defaultCacheBehavior": {"viewerProtocolPolicy": "https-only"},
    }
    assert "CloudFront's default certificate" in one(
        p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, default_cert
    )


def test_cloudfront_plain_http_on_any_behavior_is_stopped() -> None:
    message = one(p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, _distribution(viewer="allow-all"))
    assert message.startswith("defaultCacheBehavior.viewerProtocolPolicy is 'allow-all'")
    props = _distribution(
        orderedCacheBehaviors=[
            {"pathPattern": "/a", "viewerProtocolPolicy": "https-only"},
            {"pathPattern": "/b", "viewerProtocolPolicy": "allow-all"},
        ]
    )
    assert one(p.CLOUDFRONT_TLS, p.CLOUDFRONT_DISTRIBUTION, props).startswith("orderedCacheBehaviors[1].")


# --- security groups ------------------------------------------------------------------------------


def _rule(cidr: str, port: int, **extra: Any) -> dict:
    return {"cidrIpv4": cidr, "ipProtocol": "tcp", "fromPort": float(port), "toPort": float(port), **extra}


def test_the_load_balancer_may_admit_the_world_on_80_and_443() -> None:
    for port in (80, 443):
        assert (
            run(p.WORLD_INGRESS, SG_RULE, _rule("0.0.0.0/0", port), urn=LB_URN.format(SG_RULE, "ingress"))
            == []
        )
    assert run(p.WORLD_INGRESS, SG_RULE, _rule("10.32.0.0/16", 22), urn=API_URN.format(SG_RULE, "x")) == []


def test_world_ingress_on_ssh_is_stopped_even_on_the_load_balancer() -> None:
    message = one(p.WORLD_INGRESS, SG_RULE, _rule("0.0.0.0/0", 22), urn=LB_URN.format(SG_RULE, "ingress-22"))
    assert message.startswith(
        "ingress from 0.0.0.0/0 on port 22; the internet may reach only ports 80 and 443."
    )


def test_world_ingress_outside_the_load_balancer_is_stopped() -> None:
    message = one(
        p.WORLD_INGRESS,
        SG_RULE,
        {"cidrIpv6": "::/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        urn=API_URN.format(SG_RULE, "open"),
    )
    assert message.startswith(
        "ingress from ::/0 on port 443 outside a load balancer (myark:network:LoadBalancer)"
    )


def test_inline_and_legacy_rules_are_read_too() -> None:
    group = {
        "ingress": [
            {"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"]},
            {"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ["10.0.0.0/8"]},
        ]
    }
    assert "on port 22;" in one(p.WORLD_INGRESS, "aws:ec2/securityGroup:SecurityGroup", group)
    legacy = {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}
    assert "on all ports;" in one(p.WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", legacy)
    ranged = {
        "type": "ingress",
        "protocol": "tcp",
        "fromPort": 0,
        "toPort": 65535,
        "cidrBlocks": ["0.0.0.0/0"],
    }
    assert "on ports 0-65535;" in one(p.WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", ranged)
    egress = {**ranged, "type": "egress"}
    assert run(p.WORLD_INGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule", egress) == []


# --- IAM ------------------------------------------------------------------------------------------


def _doc(action: Any, resource: Any = "*", effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}
    )


def test_least_privilege_policies_pass() -> None:
    assert run(p.IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc(["s3:GetObject"])}) == []
    assert run(p.IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc("*", "arn:aws:s3:::b")}) == []
    assert run(p.IAM_NO_ADMIN, "aws:iam/rolePolicy:RolePolicy", {"policy": _doc("*", effect="Deny")}) == []


@pytest.mark.parametrize(
    ("type_", "props", "text"),
    [
        pytest.param(
            "aws:iam/rolePolicy:RolePolicy",
            {"policy": _doc("*")},
            "policy: statement allows every",
            id="role-policy",
        ),
        pytest.param(
            "aws:iam/policy:Policy",
            {"policy": _doc(["s3:GetObject", "*:*"], ["*"])},
            "policy: statement allows every",
            id="managed-policy",
        ),
        pytest.param(
            "aws:iam/role:Role",
            {"inlinePolicies": [{"name": "admin", "policy": _doc("*")}]},
            "inline policy 'admin': statement allows every",
            id="role-inline-policy",
        ),
        pytest.param(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            "attaches arn:aws:iam::aws:policy/AdministratorAccess",
            id="administrator-access",
        ),
    ],
)
def test_admin_wildcards_are_stopped(type_: str, props: dict, text: str) -> None:
    assert one(p.IAM_NO_ADMIN, type_, props).startswith(text)


def test_long_lived_keys_are_stopped() -> None:
    assert one(p.NO_LONG_LIVED_KEYS, "aws:iam/accessKey:AccessKey", {"user": "ci"}).startswith(
        "an IAM user access key is a long-lived secret"
    )
    assert one(p.NO_LONG_LIVED_KEYS, "gcp:serviceaccount/key:Key", {"serviceAccountId": "sa"}).startswith(
        "a GCP service account key is a long-lived secret"
    )
    assert run(p.NO_LONG_LIVED_KEYS, "gcp:serviceaccount/account:Account", {"accountId": "api"}) == []


# --- tags -----------------------------------------------------------------------------------------


def test_tagged_resources_carry_the_cells_tags() -> None:
    assert run(p.REQUIRED_TAGS_POLICY, "aws:ec2/vpc:Vpc", {"tags": {**EU_TAGS, "Name": "vpc"}}) == []
    assert run(p.REQUIRED_TAGS_POLICY, p.BIGQUERY_DATASET, {"labels": EU_LABELS}) == []
    assert run(p.REQUIRED_TAGS_POLICY, "aws:ec2/route:Route", {}) == []  # not taggable: nothing to ask
    global_tags = {"myark:cell": "global", "myark:region": "us-east-1", "myark:residency": "global"}
    assert (
        run(p.REQUIRED_TAGS_POLICY, "aws:sqs/queue:Queue", {"tags": global_tags}, stack_config=GLOBAL) == []
    )


def test_missing_tags_are_stopped() -> None:
    message = one(p.REQUIRED_TAGS_POLICY, "aws:ec2/vpc:Vpc", {"tags": {"myark:cell": "eu-central-1"}})
    assert message.startswith("tags lack myark:region, myark:residency.")
    message = one(p.REQUIRED_TAGS_POLICY, p.BIGQUERY_DATASET, {"labels": {"myark-cell": "eu-central-1"}})
    assert message.startswith("labels lack myark-region, myark-residency.")


def test_tags_that_contradict_the_stack_are_stopped() -> None:
    # A wrong residency tag would also move the zone the residency rule holds the resource to.
    message = one(p.REQUIRED_TAGS_POLICY, p.S3_BUCKET, {"tags": {**EU_TAGS, "myark:residency": "us"}})
    assert message.startswith("tags disagree with the stack: myark:residency='us' (stack: 'eu').")


# --- deletion protection --------------------------------------------------------------------------


def test_stateful_resources_are_protected() -> None:
    assert run(p.STATEFUL_PROTECT, p.S3_BUCKET, {}, protect=True) == []
    assert run(p.STATEFUL_PROTECT, "aws:ec2/vpc:Vpc", {}) == []
    assert one(p.STATEFUL_PROTECT, p.FIRESTORE_DATABASE, {}).startswith(
        "a stateful resource is not protected"
    )


@pytest.mark.parametrize(
    ("type_", "good"),
    [
        pytest.param(p.LOAD_BALANCERS[0], {"enableDeletionProtection": True}, id="alb"),
        pytest.param(p.LOG_GROUP, {"deletionProtectionEnabled": True}, id="log-group"),
        pytest.param(
            p.DYNAMODB_TABLE,
            {"deletionProtectionEnabled": True, "pointInTimeRecovery": {"enabled": True}},
            id="dynamodb",
        ),
        pytest.param(p.COGNITO_USER_POOL, {"deletionProtection": "ACTIVE"}, id="cognito"),
        pytest.param(
            p.FIRESTORE_DATABASE,
            {
                "deleteProtectionState": "DELETE_PROTECTION_ENABLED",
                "pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED",
            },
            id="firestore",
        ),
        pytest.param(p.BIGQUERY_TABLE, {}, id="bigquery-table-default-is-protected"),
        pytest.param(p.BIGQUERY_DATASET, {"deleteContentsOnDestroy": False}, id="bigquery-dataset"),
        pytest.param(p.S3_BUCKET, {"forceDestroy": False}, id="bucket"),
        pytest.param(p.KMS_KEY, {"deletionWindowInDays": 30}, id="kms"),
    ],
)
def test_cloud_deletion_protection_on_passes(type_: str, good: dict) -> None:
    assert run(p.CLOUD_DELETION_PROTECTION, type_, good) == []


@pytest.mark.parametrize(
    ("type_", "bad", "text"),
    [
        pytest.param(
            p.LOAD_BALANCERS[0],
            {"enableDeletionProtection": False},
            "the load balancer does not set",
            id="alb",
        ),
        pytest.param(p.LOG_GROUP, {}, "the log group does not set deletionProtectionEnabled", id="log-group"),
        pytest.param(
            p.DYNAMODB_TABLE,
            {"deletionProtectionEnabled": True},
            "does not enable pointInTimeRecovery",
            id="dynamodb-pitr",
        ),
        pytest.param(
            p.COGNITO_USER_POOL,
            {"deletionProtection": "INACTIVE"},
            "the user pool's deletionProtection is 'INACTIVE'",
            id="cognito",
        ),
        pytest.param(
            p.FIRESTORE_DATABASE,
            {"pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED"},
            "the Firestore database's deleteProtectionState",
            id="firestore",
        ),
        pytest.param(
            p.BIGQUERY_TABLE,
            {"deletionProtection": False},
            "sets deletionProtection false",
            id="bigquery-table",
        ),
        pytest.param(
            p.BIGQUERY_DATASET,
            {"deleteContentsOnDestroy": True},
            "sets deleteContentsOnDestroy",
            id="bigquery-dataset",
        ),
        pytest.param(p.S3_BUCKET, {"forceDestroy": True}, "the bucket sets forceDestroy", id="bucket"),
        pytest.param(
            p.KMS_KEY, {"deletionWindowInDays": 5.0}, "deletionWindowInDays is 5; the minimum is 7", id="kms"
        ),
    ],
)
def test_cloud_deletion_protection_off_is_stopped(type_: str, bad: dict, text: str) -> None:
    assert text in one(p.CLOUD_DELETION_PROTECTION, type_, bad)


def test_a_short_kms_deletion_window_is_advised_against() -> None:
    assert run(p.KMS_DELETION_WINDOW, p.KMS_KEY, {}) == []  # AWS's default is 30 days
    assert run(p.KMS_DELETION_WINDOW, p.KMS_KEY, {"deletionWindowInDays": 30.0}) == []
    assert one(p.KMS_DELETION_WINDOW, p.KMS_KEY, {"deletionWindowInDays": 7.0}).startswith(
        "deletionWindowInDays is 7; 30 days leave the most time."
    )


# --- the offline world: recorded plans --------------------------------------------------------------


@pytest.mark.parametrize("stack", ["global", "eu-central-1", "us-east-1"])
def test_the_real_stacks_pass_every_policy(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    assert len(list(plan.cloud_resources())) > 10  # the rules met real resources
    assert check_plan(plan) == []


def _broken_program() -> None:
    provider = aws.Provider("aws", region="eu-central-1")
    opts = pulumi.ResourceOptions(provider=provider)
    bucket = aws.s3.Bucket("stray", region="us-east-1", opts=opts)
    aws.s3.BucketPublicAccessBlock(
        "stray-public-access",
        bucket=bucket.id,
        block_public_acls=False,
        block_public_policy=False,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketPolicy(
        "stray-policy",
        bucket=bucket.id,
        opts=opts,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                ],
            }
        ),
    )
    aws.ec2.SecurityGroup(
        "ssh",
        description="SSH from anywhere",
        opts=opts,
        ingress=[
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]},
        ],
    )


@pytest.fixture(scope="module")
def broken() -> list[dict[str, str]]:
    return check_plan(record_plan("eu-central-1", program=_broken_program, stack_outputs={}))


@pytest.mark.parametrize(
    ("policy", "name", "text"),
    [
        pytest.param(
            "residency-zone",
            "stray",
            "aws:s3/bucket:Bucket is in us-east-1, outside residency zone 'eu'",
            id="bucket-in-us-east-1",
        ),
        pytest.param(
            "s3-public-access-block",
            "stray-public-access",
            "public access is not fully blocked: blockPublicAcls, blockPublicPolicy not true.",
            id="public-access-block-off",
        ),
        pytest.param(
            "s3-bucket-policy-not-public",
            "stray-policy",
            "bucket policy statement allows anyone (Principal *) without a Condition.",
            id="public-policy",
        ),
        pytest.param(
            "security-group-world-ingress", "ssh", "ingress from 0.0.0.0/0 on port 22;", id="ssh-open"
        ),
        pytest.param(
            "stateful-protect", "stray", "a stateful resource is not protected", id="unprotected-bucket"
        ),
        pytest.param(
            "s3-bucket-guards-present",
            "stray",
            "the bucket has no BucketServerSideEncryptionConfiguration",
            id="unencrypted-bucket",
        ),
    ],
)
def test_a_broken_program_is_stopped(broken, policy: str, name: str, text: str) -> None:
    hits = [v for v in broken if v["policy"] == policy and v["urn"].endswith(f"::{name}")]
    assert len(hits) == 1, broken
    assert hits[0]["level"] == "mandatory"
    assert hits[0]["message"].startswith(text)
    assert hits[0]["message"].endswith(f"Remediation: {p.POLICIES_BY_NAME[policy].remediation_steps}")


def _planned(
    type_: str, name: str, inputs: dict, region: str | None = "eu-central-1", protect: bool = False
) -> PlannedResource:
    urn = f"urn:pulumi:eu-central-1::myark-cells::{type_}::{name}"
    return PlannedResource(
        urn=urn,
        type=type_,
        name=name,
        parent=None,
        provider=None,
        region=region,
        protect=protect,
        retain_on_delete=protect,
        inputs=inputs,
        custom=True,
    )


def test_check_plan_honours_policy_config_like_the_engine() -> None:
    dataset = _planned(p.BIGQUERY_DATASET, "analytics", {"location": "EU", "labels": EU_LABELS}, protect=True)
    plan = Plan(project="myark-cells", stack="eu-central-1", resources=[dataset], outputs={})
    assert [v["policy"] for v in check_plan(plan, stack_config=EU)] == ["gcp-cmek-recommended"]
    required = check_plan(plan, stack_config=EU, policy_config={"gcp-cmek-required": {"requireCmek": True}})
    # Each policy sees only its own config (as in a real run): the advice stays beside the requirement.
    assert sorted((v["policy"], v["level"]) for v in required) == [
        ("gcp-cmek-recommended", "advisory"),
        ("gcp-cmek-required", "mandatory"),
    ]
    quiet = check_plan(plan, stack_config=EU, policy_config={"gcp-cmek-recommended": "disabled"})
    assert quiet == []
    lowered = {"gcp-cmek-required": {"requireCmek": True, "enforcementLevel": "advisory"}}
    assert {v["level"] for v in check_plan(plan, stack_config=EU, policy_config=lowered)} == {"advisory"}


def test_check_plan_skips_components_and_providers_and_uses_the_plans_region() -> None:
    component = PlannedResource(
        urn="urn:c",
        type="myark:storage:SecureBucket",
        name="c",
        parent=None,
        provider=None,
        region=None,
        protect=False,
        retain_on_delete=False,
        inputs={},
        custom=False,
    )
    provider = _planned("pulumi:providers:aws", "aws", {"region": "us-east-1"}, region="us-east-1")
    queue = _planned(p.SQS_QUEUE, "q", {"sqsManagedSseEnabled": True}, region="us-west-2")
    found = check_plan(
        Plan(project="myark-cells", stack="eu-central-1", resources=[component, provider, queue], outputs={}),
        stack_config=EU,
    )
    assert [(v["policy"], v["urn"]) for v in found] == [("residency-zone", queue.urn)]
    assert "is in us-west-2" in found[0]["message"]


def test_the_policies_load_without_the_cloud_sdks() -> None:
    # The pack imports neither the AWS nor the GCP SDK: it starts fast next to a real run.
    code = (
        "import sys, cells.guardrails.policies; "
        "print(any(m.startswith(('pulumi_aws', 'pulumi_gcp')) for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
