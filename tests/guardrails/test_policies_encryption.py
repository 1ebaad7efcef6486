"""Encryption at rest: S3, KMS rotation, log groups, SSM, DynamoDB, SNS/SQS, and GCP CMEK."""

from __future__ import annotations

from policy_support import US_WITH_TENANT, one, run, run_stack, stack_bucket

from cells.guardrails.policies.encryption import (
    BUCKET_GUARDS_PRESENT,
    CMEK_RECOMMENDED,
    CMEK_REQUIRED,
    DYNAMODB_ENCRYPTION,
    KMS_ROTATION,
    LOG_GROUP_ENCRYPTION,
    MESSAGING_ENCRYPTION,
    S3_ENCRYPTION,
    SSM_SECURE_STRING,
)
from cells.guardrails.policies.plan_check import make_policy_resource
from cells.guardrails.policies.resource_types import (
    BIGQUERY_DATASET,
    BIGQUERY_TABLE,
    DYNAMODB_TABLE,
    FIRESTORE_DATABASE,
    KMS_KEY,
    LOG_GROUP,
    S3_PUBLIC_ACCESS_BLOCKS,
    S3_SSE,
    SNS_TOPIC,
    SQS_QUEUE,
    SSM_PARAMETER,
)

# --- encryption at rest ---------------------------------------------------------------------------


def _sse(algorithm: str) -> dict:
    return {
        "bucket": "docs-0a1b2c3d4e",
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}],
    }


SSE = S3_SSE[0]


def test_s3_kms_encryption_passes() -> None:
    assert run(S3_ENCRYPTION, SSE, _sse("aws:kms"), name="eu-documents-encryption") == []


def test_s3_aes256_is_for_log_buckets_only() -> None:
    assert run(S3_ENCRYPTION, SSE, _sse("AES256"), name="eu-central-1-logs-encryption") == []
    assert (
        run(
            S3_ENCRYPTION,
            SSE,
            {**_sse("AES256"), "bucket": "eu-central-1-logs-a8703f2e21dba817c"},
            name="archive-sse",
        )
        == []
    )
    message = one(S3_ENCRYPTION, SSE, _sse("AES256"), name="eu-documents-encryption")
    assert message.startswith("SSE-S3 (AES256) is only for log buckets (named *-logs)")


def test_s3_encryption_needs_a_rule() -> None:
    assert one(S3_ENCRYPTION, SSE, {"bucket": "b", "rules": []}).startswith(
        "the bucket encryption configuration"
    )


def test_every_bucket_has_its_encryption_and_public_access_block() -> None:
    bucket = stack_bucket("docs", "eu-central-1")
    sse = make_policy_resource(SSE, {"bucket": "docs"})
    block = make_policy_resource(S3_PUBLIC_ACCESS_BLOCKS[0], {"bucket": "docs"})
    assert run_stack(BUCKET_GUARDS_PRESENT, [bucket, sse, block]) == []
    found = run_stack(BUCKET_GUARDS_PRESENT, [bucket])
    assert [(u, m.split(" Remediation:")[0]) for u, m in found] == [
        ("urn:b::docs", "the bucket has no BucketServerSideEncryptionConfiguration."),
        ("urn:b::docs", "the bucket has no BucketPublicAccessBlock."),
    ]


def test_kms_keys_rotate() -> None:
    assert run(KMS_ROTATION, KMS_KEY, {"enableKeyRotation": True}) == []
    assert one(KMS_ROTATION, KMS_KEY, {}).startswith("the KMS key does not rotate")
    # AWS cannot rotate asymmetric keys: nothing to ask of them.
    assert run(KMS_ROTATION, KMS_KEY, {"customerMasterKeySpec": "RSA_2048"}) == []


def test_log_groups_use_the_cell_key() -> None:
    assert run(LOG_GROUP_ENCRYPTION, LOG_GROUP, {"kmsKeyId": "arn:aws:kms:eu-central-1:1:key/k"}) == []
    assert one(LOG_GROUP_ENCRYPTION, LOG_GROUP, {}).startswith("the log group has no kmsKeyId")


def test_ssm_parameters_are_secure_strings() -> None:
    assert run(SSM_SECURE_STRING, SSM_PARAMETER, {"type": "SecureString"}) == []
    assert one(SSM_SECURE_STRING, SSM_PARAMETER, {"type": "String"}).startswith(
        "the SSM parameter is of type 'String', not SecureString."
    )


def test_dynamodb_tables_use_a_kms_key() -> None:
    assert run(DYNAMODB_ENCRYPTION, DYNAMODB_TABLE, {"serverSideEncryption": {"enabled": True}}) == []
    assert one(DYNAMODB_ENCRYPTION, DYNAMODB_TABLE, {}).startswith("the DynamoDB table does not enable")


def test_topics_and_queues_are_encrypted() -> None:
    assert run(MESSAGING_ENCRYPTION, SNS_TOPIC, {"kmsMasterKeyId": "alias/k"}) == []
    assert one(MESSAGING_ENCRYPTION, SNS_TOPIC, {}).startswith("the SNS topic has no kmsMasterKeyId.")
    assert run(MESSAGING_ENCRYPTION, SQS_QUEUE, {"sqsManagedSseEnabled": True}) == []
    assert one(MESSAGING_ENCRYPTION, SQS_QUEUE, {"sqsManagedSseEnabled": False}).startswith(
        "the SQS queue sets neither"
    )


TENANT_LABELS = {"myark-tenant": "acme-insurance"}
KEY = {"kmsKeyName": "projects/x/locations/us/keyRings/r/cryptoKeys/k"}


def test_a_tenant_with_a_dedicated_key_gets_cmek_on_its_data() -> None:
    kwargs = {"stack_config": US_WITH_TENANT, "provider_props": {"region": "us-east4"}}
    assert (
        run(
            CMEK_REQUIRED,
            BIGQUERY_DATASET,
            {"labels": TENANT_LABELS, "defaultEncryptionConfiguration": KEY},
            **kwargs,
        )
        == []
    )
    message = one(CMEK_REQUIRED, BIGQUERY_DATASET, {"labels": TENANT_LABELS}, **kwargs)
    assert message.startswith(
        "gcp:bigquery/dataset:Dataset has no customer-managed key, but tenant "
        "'acme-insurance' has dedicatedKmsKey: true in the stack config."
    )
    assert "has no customer-managed key" in one(
        CMEK_REQUIRED, BIGQUERY_TABLE, {"labels": TENANT_LABELS}, **kwargs
    )
    message = one(CMEK_REQUIRED, FIRESTORE_DATABASE, {"name": "tenant-acme-insurance"}, **kwargs)
    assert "database 'tenant-acme-insurance' is the shard of a tenant with dedicatedKmsKey" in message
    assert run(CMEK_REQUIRED, FIRESTORE_DATABASE, {"name": "users-a"}, **kwargs) == []


def test_the_policy_config_can_require_cmek_everywhere() -> None:
    assert run(CMEK_REQUIRED, BIGQUERY_DATASET, {}) == []
    message = one(CMEK_REQUIRED, BIGQUERY_DATASET, {}, config={"requireCmek": True})
    assert "but the policy config sets requireCmek" in message


def test_google_managed_encryption_is_noted_as_advice() -> None:
    assert "encrypted at rest with a Google-managed key" in one(
        CMEK_RECOMMENDED, FIRESTORE_DATABASE, {"name": "users-a"}
    )
    assert run(CMEK_RECOMMENDED, FIRESTORE_DATABASE, {"cmekConfig": KEY}) == []
    # Where the mandatory rule applies, the advice stays quiet (one finding, not two).
    assert (
        run(
            CMEK_RECOMMENDED,
            FIRESTORE_DATABASE,
            {"name": "tenant-acme-insurance"},
            stack_config=US_WITH_TENANT,
        )
        == []
    )
