"""SecureBucket: the one way this program makes an S3 bucket.

Encrypted (KMS, or SSE-S3 where an AWS log writer requires it), versioned, public access blocked,
owner-enforced, TLS 1.2+ only, guarded against deletion in Pulumi and at the cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.infra.components.policy_documents import bucket_guards, document
from cells.infra.components.protection import kept


@dataclass(frozen=True)
class SecureBucketArgs:
    kms_key_arn: pulumi.Input[str] | None
    """KMS key for SSE-KMS. None means SSE-S3 (AES256): only for log buckets AWS writes to."""
    noncurrent_version_days: int = 365
    expire_days: int | None = None
    access_log_bucket: pulumi.Input[str] | None = None
    access_log_prefix: str = ""
    extra_statements: Callable[[pulumi.Output[str]], list[dict[str, Any]]] = field(default=lambda arn: [])
    defer_policy: bool = False
    """Leave the bucket policy to a later `put_policy` call (a grantee that needs the bucket first)."""


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = kept(self)
        self.bucket = aws.s3.Bucket(name, force_destroy=False, opts=keep)
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        if args.kms_key_arn is not None:
            default: Any = {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn}
        else:
            default = {"sse_algorithm": "AES256"}
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": True}],  # type: ignore[list-item]
            opts=child,
        )
        rules: list[Any] = [
            {
                "id": "expire-noncurrent",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        if args.expire_days is not None:
            rules.append(
                {
                    "id": "expire-current",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": args.expire_days},
                }
            )
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket_id, rules=rules, opts=child)
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-access-logs",
                bucket=bucket_id,
                target_bucket=args.access_log_bucket,
                target_prefix=args.access_log_prefix or f"s3/{name}/",
                opts=child,
            )
        # Every object change is an EventBridge event: the trail a reviewer or an alarm reads when
        # a document is deleted or overwritten (S3 server access logs arrive hours late).
        aws.s3.BucketNotification(f"{name}-events", bucket=bucket_id, eventbridge=True, opts=child)
        self._block = block
        self._args = args
        if not args.defer_policy:
            self.put_policy([])
        self.register_outputs({"bucket_name": self.bucket.bucket, "arn": self.bucket.arn})

    def put_policy(self, statements: list[dict[str, Any]]) -> aws.s3.BucketPolicy:
        """The bucket policy: the guards every bucket has, the args' statements, and these."""
        arn = self.bucket.arn
        objects = arn.apply(lambda a: f"{a}/*")
        policy = document(*bucket_guards(arn, objects), *self._args.extra_statements(arn), *statements)
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(policy),
            # A policy put before the block is in place could briefly be public; order them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._block]),
        )
