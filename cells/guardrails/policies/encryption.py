"""Encryption at rest: S3 (KMS, SSE-S3 for log buckets only), KMS key rotation, log groups, SSM
parameters, DynamoDB, SNS and SQS, and customer-managed keys on GCP data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource

from cells.core.naming import TAG_TENANT
from cells.guardrails.policies.context import stack_context
from cells.guardrails.policies.readers import _get, _label_value, _maps, _tag
from cells.guardrails.policies.registry import ADVISORY, MANDATORY, resource_policy, stack_policy
from cells.guardrails.policies.resource_types import (
    BIGQUERY_DATASET,
    BIGQUERY_TABLE,
    DYNAMODB_TABLE,
    FIRESTORE_DATABASE,
    KMS_KEY,
    LOG_GROUP,
    S3_BUCKET,
    S3_PUBLIC_ACCESS_BLOCKS,
    S3_SSE,
    SNS_TOPIC,
    SQS_QUEUE,
    SSM_PARAMETER,
)

S3_KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})

# A log bucket's physical name: its logical name plus the suffix Pulumi's auto-naming adds.
LOG_BUCKET_NAME = re.compile(r"-logs(-[0-9a-f]{7,})?$")


def _is_log_bucket(args: Any) -> bool:
    # SecureBucket names the configuration `<bucket>-encryption`; otherwise read the bucket's name.
    if args.name.removesuffix("-encryption").endswith("-logs"):
        return True
    bucket = args.props.get("bucket")
    return isinstance(bucket, str) and LOG_BUCKET_NAME.search(bucket) is not None


def _sse_rules_problems(args: Any, rules: Any) -> Iterator[str]:
    rules = _maps(rules)
    if not rules:
        yield "the bucket encryption configuration has no rule."
    for rule in rules:
        algorithm = _get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if algorithm in S3_KMS_ALGORITHMS:
            continue
        if algorithm == "AES256":
            if not _is_log_bucket(args):
                yield "SSE-S3 (AES256) is only for log buckets (named *-logs) that AWS log delivery fills."
            continue
        yield f"sseAlgorithm is {algorithm!r}; user data buckets must use aws:kms."


@resource_policy(
    "s3-encryption",
    "S3 buckets are encrypted with KMS (SSE-S3 only for log buckets that AWS log delivery writes to).",
    MANDATORY,
    remediation="use SecureBucket with kms_key_arn set (sseAlgorithm aws:kms); AES256 is for `*-logs` buckets only.",
)
def S3_ENCRYPTION(args: Any) -> Iterator[str]:
    if args.resource_type in S3_SSE:
        yield from _sse_rules_problems(args, args.props.get("rules"))
    elif args.resource_type == S3_BUCKET and args.props.get("serverSideEncryptionConfiguration") is not None:
        yield from _sse_rules_problems(args, _get(args.props, "serverSideEncryptionConfiguration", "rule"))


def _bucket_names(r: PolicyResource) -> set[str]:
    return {v for v in (r.props.get("bucket"), r.props.get("id")) if isinstance(v, str) and v}


@stack_policy(
    "s3-bucket-guards-present",
    "Every S3 bucket has an encryption configuration and a public access block.",
    MANDATORY,
    remediation="create buckets with cells.infra.components.bucket.SecureBucket, which adds both.",
)
def BUCKET_GUARDS_PRESENT(args: Any) -> Iterator[tuple[str | None, str]]:
    """Every bucket has an encryption configuration and a public access block (matched by name)."""
    buckets = [r for r in args.resources if r.resource_type == S3_BUCKET]
    encrypted = {r.props.get("bucket") for r in args.resources if r.resource_type in S3_SSE}
    blocked = {r.props.get("bucket") for r in args.resources if r.resource_type == S3_PUBLIC_ACCESS_BLOCKS[0]}
    for bucket in buckets:
        names = _bucket_names(bucket)
        if not names & encrypted and bucket.props.get("serverSideEncryptionConfiguration") is None:
            yield bucket.urn, "the bucket has no BucketServerSideEncryptionConfiguration."
        if not names & blocked:
            yield bucket.urn, "the bucket has no BucketPublicAccessBlock."


@resource_policy(
    "kms-key-rotation",
    "KMS keys rotate their key material every year.",
    MANDATORY,
    remediation="set enable_key_rotation=True on the aws.kms.Key.",
)
def KMS_ROTATION(args: Any) -> Iterator[str]:
    if args.resource_type != KMS_KEY:
        return
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and args.props.get("enableKeyRotation") is not True:
        yield "the KMS key does not rotate (enableKeyRotation is not true)."


@resource_policy(
    "log-group-encryption",
    "CloudWatch log groups are encrypted with the cell's KMS key.",
    MANDATORY,
    remediation="set kms_key_id to the cell key's ARN (its policy already admits the region's CloudWatch Logs).",
)
def LOG_GROUP_ENCRYPTION(args: Any) -> Iterator[str]:
    if args.resource_type == LOG_GROUP and not args.props.get("kmsKeyId"):
        yield "the log group has no kmsKeyId: its events are encrypted with a key the cell does not control."


@resource_policy(
    "ssm-secure-string",
    "SSM parameters are SecureString (KMS-encrypted).",
    MANDATORY,
    remediation="set type='SecureString' and key_id to the cell key.",
)
def SSM_SECURE_STRING(args: Any) -> Iterator[str]:
    if args.resource_type == SSM_PARAMETER and args.props.get("type") != "SecureString":
        yield f"the SSM parameter is of type {args.props.get('type')!r}, not SecureString."


@resource_policy(
    "dynamodb-encryption",
    "DynamoDB tables are encrypted with a KMS key the cell controls.",
    MANDATORY,
    remediation="set server_side_encryption={'enabled': True, 'kms_key_arn': <cell key ARN>}.",
)
def DYNAMODB_ENCRYPTION(args: Any) -> Iterator[str]:
    if (
        args.resource_type == DYNAMODB_TABLE
        and _get(args.props, "serverSideEncryption", "enabled") is not True
    ):
        yield "the DynamoDB table does not enable serverSideEncryption with a KMS key."


@resource_policy(
    "messaging-encryption",
    "SNS topics and SQS queues are encrypted at rest.",
    MANDATORY,
    remediation="set kms_master_key_id to the cell key (SQS may instead set sqs_managed_sse_enabled=True).",
)
def MESSAGING_ENCRYPTION(args: Any) -> Iterator[str]:
    if args.resource_type == SNS_TOPIC and not args.props.get("kmsMasterKeyId"):
        yield "the SNS topic has no kmsMasterKeyId."
    elif args.resource_type == SQS_QUEUE and not (
        args.props.get("kmsMasterKeyId") or args.props.get("sqsManagedSseEnabled") is True
    ):
        yield "the SQS queue sets neither kmsMasterKeyId nor sqsManagedSseEnabled."


def _cmek_key(args: Any) -> Any:
    if args.resource_type == BIGQUERY_DATASET:
        return _get(args.props, "defaultEncryptionConfiguration", "kmsKeyName")
    if args.resource_type == BIGQUERY_TABLE:
        return _get(args.props, "encryptionConfiguration", "kmsKeyName")
    return _get(args.props, "cmekConfig", "kmsKeyName")


def cmek_required(args: Any) -> str | None:
    """Why this GCP data resource must use a customer-managed key, or None."""
    if args.resource_type not in (BIGQUERY_DATASET, BIGQUERY_TABLE, FIRESTORE_DATABASE):
        return None
    if args.get_config().get("requireCmek") is True:
        return "the policy config sets requireCmek"
    ctx = stack_context(args)
    tenant = _tag(args.props, TAG_TENANT)
    by_label = {_label_value(t): t for t in ctx.cmek_tenants}
    if isinstance(tenant, str) and (tenant in ctx.cmek_tenants or tenant in by_label):
        return f"tenant {by_label.get(tenant, tenant)!r} has dedicatedKmsKey: true in the stack config"
    if args.resource_type == FIRESTORE_DATABASE and args.props.get("name") in ctx.cmek_databases:
        return f"database {args.props.get('name')!r} is the shard of a tenant with dedicatedKmsKey: true"
    return None


@resource_policy(
    "gcp-cmek-required",
    "BigQuery datasets/tables and Firestore databases use a customer-managed key where config asks for one.",
    MANDATORY,
    remediation="set default_encryption_configuration (dataset), encryption_configuration (table) or cmek_config "
    "(Firestore) to the tenant's Cloud KMS key, in the cell's zone.",
    config_schema=PolicyConfigSchema(
        properties={
            "requireCmek": {
                "type": "boolean",
                "default": False,
                "description": "Require a customer-managed key on all BigQuery and Firestore data.",
            }
        }
    ),
)
def CMEK_REQUIRED(args: Any) -> Iterator[str]:
    reason = cmek_required(args)
    if reason and not _cmek_key(args):
        yield f"{args.resource_type} has no customer-managed key, but {reason}."


@resource_policy(
    "gcp-cmek-recommended",
    "Google-managed encryption protects BigQuery and Firestore at rest; a customer-managed key is better.",
    # Advisory: Google encrypts all data at rest by default; CMEK adds control (revocation), not encryption.
    ADVISORY,
    remediation="give the data a Cloud KMS key of the cell's zone (or set dedicatedKmsKey for an enterprise tenant).",
)
def CMEK_RECOMMENDED(args: Any) -> Iterator[str]:
    # Tables inherit their dataset's default key: the dataset is where the advice belongs.
    if args.resource_type not in (BIGQUERY_DATASET, FIRESTORE_DATABASE) or cmek_required(args):
        return
    if not _cmek_key(args):
        yield (
            f"{args.resource_type} is encrypted at rest with a Google-managed key; a customer-managed key "
            "(CMEK) would let the cell revoke access to its data."
        )
