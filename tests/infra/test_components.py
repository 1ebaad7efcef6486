"""Components built alone with a small spec, recorded by the offline plan."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from cells.infra.components.bucket import SecureBucket, SecureBucketArgs
from cells.offline.plan import Plan, record_plan


def _build(program) -> Plan:
    def run() -> None:
        provider = aws.Provider("aws", region="eu-central-1")
        program(pulumi.ResourceOptions(providers=[provider]))

    return record_plan("eu-central-1", program=run, stack_outputs={})


def test_a_log_bucket_uses_sse_s3_and_a_data_bucket_kms_with_bucket_keys() -> None:
    key = "arn:aws:kms:eu-central-1:123456789012:key/k"
    plan = _build(
        lambda opts: (
            SecureBucket("logs", SecureBucketArgs(kms_key_arn=None), opts=opts),
            SecureBucket("data", SecureBucketArgs(kms_key_arn=key), opts=opts),
        )
    )
    sse = {
        r.name: r.inputs["rules"][0]
        for r in plan.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
    }
    assert sse["logs-encryption"]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert sse["data-encryption"]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key,
    }
    assert sse["data-encryption"]["bucketKeyEnabled"] is True
    for bucket in plan.of_type("aws:s3/bucket:Bucket"):
        assert bucket.protect and bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False


def test_a_deferred_policy_waits_for_put_policy_and_keeps_the_guards() -> None:
    def program(opts):
        bucket = SecureBucket("site", SecureBucketArgs(kms_key_arn=None, defer_policy=True), opts=opts)
        bucket.put_policy(
            [
                {
                    "Sid": "Reader",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": "*",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                }
            ]
        )

    plan = _build(program)
    policies = plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert len(policies) == 1
    sids = [s["Sid"] for s in json.loads(policies[0].inputs["policy"])["Statement"]]
    assert sids == ["DenyInsecureTransport", "DenyTlsBelow12", "DenyBucketDeletion", "Reader"]


def test_lifecycle_expires_old_versions_and_optionally_current_objects() -> None:
    plan = _build(
        lambda opts: SecureBucket(
            "logs", SecureBucketArgs(kms_key_arn=None, noncurrent_version_days=30, expire_days=90), opts=opts
        )
    )
    rules = {
        r["id"]: r
        for r in plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    }
    assert rules["expire-noncurrent"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rules["expire-current"]["expiration"] == {"days": 90}
