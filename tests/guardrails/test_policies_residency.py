"""Residency: resources and their copies stay in the cell's zone; the documented exceptions are narrow."""

from __future__ import annotations

import pytest
from policy_support import EU_LABELS, EU_TAGS, GLOBAL, one, run, run_stack, stack_bucket

from cells.guardrails.policies.plan_check import make_policy_resource
from cells.guardrails.policies.residency import NO_CROSS_ZONE_COPIES, RESIDENCY, S3_REPLICATION_IN_ZONE
from cells.guardrails.policies.resource_types import (
    ACM_CERTIFICATE,
    BACKUP_PLAN,
    BIGQUERY_DATASET,
    CLOUDFRONT_DISTRIBUTION,
    DYNAMODB_TABLE,
    ECR_REPLICATION,
    FIRESTORE_DATABASE,
    LOG_SUBSCRIPTION,
    S3_BUCKET,
    S3_REPLICATION,
    SQS_QUEUE,
)

# --- residency ----------------------------------------------------------------------------------------


def test_residency_passes_a_resource_in_the_cells_region() -> None:
    assert run(RESIDENCY, S3_BUCKET, {"tags": EU_TAGS}) == []


def test_residency_stops_a_bucket_in_another_zone() -> None:
    message = one(RESIDENCY, S3_BUCKET, {"region": "us-east-1"})
    assert message.startswith(
        "aws:s3/bucket:Bucket is in us-east-1, outside residency zone 'eu' (eu-central-1"
    )


def test_residency_reads_the_zone_from_the_resources_own_tag_before_the_stack() -> None:
    message = one(RESIDENCY, SQS_QUEUE, {"tags": {"myark:residency": "us"}}, stack_config={})
    assert "is in eu-central-1, outside residency zone 'us'" in message
    assert run(RESIDENCY, SQS_QUEUE, {}, stack_config={}) == []  # no zone known: nothing to hold it to


def test_residency_reads_gcp_locations_and_labels() -> None:
    assert run(RESIDENCY, BIGQUERY_DATASET, {"location": "EU", "labels": EU_LABELS}) == []
    message = one(
        RESIDENCY, FIRESTORE_DATABASE, {"locationId": "nam5"}, provider_props={"region": "europe-west3"}
    )
    assert "gcp:firestore/database:Database is in nam5, outside residency zone 'eu'" in message
    message = one(
        RESIDENCY, "gcp:pubsub/topic:Topic", {"labels": EU_LABELS}, provider_props={"region": "us-east4"}
    )
    assert "is in us-east4" in message


def test_residency_stops_an_unknown_zone_tag() -> None:
    assert "names no known zone" in one(RESIDENCY, S3_BUCKET, {"tags": {"myark:residency": "mars"}})


def test_the_global_stack_is_exempt_from_zones() -> None:
    assert run(RESIDENCY, S3_BUCKET, {"region": "eu-west-1"}, stack_config=GLOBAL) == []
    assert run(RESIDENCY, S3_BUCKET, {"tags": {"myark:residency": "global"}, "region": "ap-south-1"}) == []


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        pytest.param("aws:iam/role:Role", {}, id="iam-is-global"),
        pytest.param("aws:route53/record:Record", {}, id="route53-is-global"),
        pytest.param(CLOUDFRONT_DISTRIBUTION, {}, id="cloudfront-is-global"),
        pytest.param(
            ACM_CERTIFICATE,
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
    assert run(RESIDENCY, type_, props, provider_props={"region": "us-east-1"}) == []


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        pytest.param(
            ACM_CERTIFICATE,
            {"region": "us-east-1", "domainName": "eu-central-1.api.myark.io"},
            id="certificate-of-the-api-not-the-app",
        ),
        pytest.param(
            ACM_CERTIFICATE,
            {
                "region": "us-east-1",
                "domainName": "eu-central-1.app.myark.io",
                "subjectAlternativeNames": ["api.myark.io"],
            },
            id="app-cert-with-api-san",
        ),
        pytest.param(
            ACM_CERTIFICATE,
            {"region": "us-east-1", "domainName": "eu-central-1.app.other.io"},
            id="app-cert-of-another-domain",
        ),
        pytest.param(
            ACM_CERTIFICATE,
            {"region": "us-west-2", "domainName": "eu-central-1.app.myark.io"},
            id="app-cert-outside-us-east-1",
        ),
        pytest.param(
            "aws:wafv2/webAcl:WebAcl", {"region": "us-east-1", "scope": "REGIONAL"}, id="regional-waf"
        ),
    ],
)
def test_residency_exceptions_are_narrow(type_: str, props: dict) -> None:
    assert "outside residency zone 'eu'" in one(RESIDENCY, type_, props)


@pytest.mark.parametrize(
    ("type_", "props", "text"),
    [
        pytest.param(
            BACKUP_PLAN,
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
            DYNAMODB_TABLE,
            {"replicas": [{"regionName": "us-west-2"}]},
            "global table replica goes to us-west-2",
            id="dynamodb-replica",
        ),
        pytest.param(
            LOG_SUBSCRIPTION,
            {"destinationArn": "arn:aws:firehose:us-east-1:1:deliverystream/x"},
            "log subscription to arn:aws:firehose:us-east-1:1:deliverystream/x goes to us-east-1",
            id="log-subscription",
        ),
        pytest.param(
            ECR_REPLICATION,
            {
                "replicationConfiguration": {
                    "rules": [{"destinations": [{"region": "us-east-2", "registryId": "1"}]}]
                }
            },
            "image replication goes to us-east-2",
            id="ecr",
        ),
        pytest.param(
            S3_BUCKET,
            {"replicationConfiguration": {"role": "r", "rules": []}},
            "inline bucket replication (unverifiable: S3 ARNs carry no region) goes to an unknown region",
            id="inline-s3-replication",
        ),
    ],
)
def test_no_copy_leaves_the_zone(type_: str, props: dict, text: str) -> None:
    assert one(NO_CROSS_ZONE_COPIES, type_, props).startswith(f"{text}, outside residency zone 'eu'.")


def test_copies_inside_the_zone_pass() -> None:
    plan = {
        "rules": [{"copyActions": [{"destinationVaultArn": "arn:aws:backup:eu-west-1:1:backup-vault:dr"}]}]
    }
    assert run(NO_CROSS_ZONE_COPIES, BACKUP_PLAN, plan) == []
    assert run(NO_CROSS_ZONE_COPIES, DYNAMODB_TABLE, {"replicas": [{"regionName": "eu-north-1"}]}) == []


def _replication(destination: str):
    rules = [{"id": "dr", "status": "Enabled", "destination": {"bucket": f"arn:aws:s3:::{destination}"}}]
    return make_policy_resource(S3_REPLICATION, {"bucket": "docs", "rules": rules}, urn="urn:replication")


def test_replication_to_a_bucket_of_the_stack_in_the_zone_passes() -> None:
    assert (
        run_stack(
            S3_REPLICATION_IN_ZONE,
            [stack_bucket("docs", "eu-central-1"), stack_bucket("dr", "eu-west-1"), _replication("dr")],
        )
        == []
    )


def test_replication_to_a_bucket_outside_the_zone_is_stopped() -> None:
    [(urn, message)] = run_stack(
        S3_REPLICATION_IN_ZONE, [stack_bucket("dr", "us-east-1"), _replication("dr")]
    )
    assert urn == "urn:replication"
    assert message.startswith(
        "replicates to arn:aws:s3:::dr in us-east-1 (residency 'eu'), outside residency zone"
    )


def test_replication_to_a_bucket_this_stack_does_not_manage_is_stopped() -> None:
    [(_, message)] = run_stack(S3_REPLICATION_IN_ZONE, [_replication("elsewhere")])
    assert "replicates to arn:aws:s3:::elsewhere, a bucket this stack does not manage" in message
    assert message.endswith(f"Remediation: {S3_REPLICATION_IN_ZONE.remediation_steps}")
