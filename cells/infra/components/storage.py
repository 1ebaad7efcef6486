"""The cell's buckets: documents (user data), and the log archive AWS services write to."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from cells.core.regions import elb_log_principal
from cells.infra.components.bucket import SecureBucket, SecureBucketArgs
from cells.infra.components.kms import Grantee
from cells.infra.components.policy_documents import statement, version_guard


@dataclass(frozen=True)
class DocumentStoreArgs:
    kms_key_arn: pulumi.Input[str]
    noncurrent_version_days: int
    access_log_bucket: pulumi.Input[str]


class DocumentStore(pulumi.ComponentResource):
    """User documents: KMS-encrypted, versioned, private, never replicated out of the cell."""

    def __init__(self, name: str, args: DocumentStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:storage:DocumentStore", name, None, opts)
        self.kms_key_arn = args.kms_key_arn
        self.store = SecureBucket(
            f"{name}-documents",
            SecureBucketArgs(
                kms_key_arn=args.kms_key_arn,
                noncurrent_version_days=args.noncurrent_version_days,
                access_log_bucket=args.access_log_bucket,
                extra_statements=lambda arn: [version_guard(arn.apply(lambda a: f"{a}/*"))],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket = self.store.bucket
        self.register_outputs({"bucket_name": self.bucket.bucket})

    def grant_read_write(self, grantee: Grantee) -> None:
        """Bucket statements only: objects read, written and deleted (a delete leaves a version the
        bucket policy keeps from everyone), the bucket listed. The key is granted by the key."""
        arn = self.bucket.arn
        grantee.add_to_role_policy(
            "documents-read-write",
            [
                statement(
                    "Allow",
                    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    arn.apply(lambda a: f"{a}/*"),
                    Sid="DocumentObjects",
                ),
                statement("Allow", ["s3:ListBucket"], arn, Sid="DocumentsList"),
            ],
        )


@dataclass(frozen=True)
class LogArchiveArgs:
    account_id: pulumi.Input[str]
    retention_days: int
    region: str
    """Where the load balancer writes from: decides the log writer's principal."""


class LogArchive(pulumi.ComponentResource):
    """Access logs of the load balancer and the buckets. SSE-S3: ALB log delivery cannot use KMS."""

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:storage:LogArchive", name, None, opts)
        account = pulumi.Output.from_input(args.account_id)

        def writers(arn: pulumi.Output[str]) -> list[dict]:
            return [
                statement(
                    "Allow",
                    ["s3:PutObject"],
                    arn.apply(lambda a: f"{a}/alb/*"),
                    Sid="AlbLogDelivery",
                    # Regions available before August 2022: the region's ELB account; newer: the service.
                    Principal=elb_log_principal(args.region),
                ),
                statement(
                    "Allow",
                    ["s3:PutObject"],
                    arn.apply(lambda a: f"{a}/s3/*"),
                    Sid="S3ServerAccessLogs",
                    Principal={"Service": "logging.s3.amazonaws.com"},
                    Condition={"StringEquals": {"aws:SourceAccount": account}},
                ),
            ]

        self.store = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                kms_key_arn=None,
                expire_days=args.retention_days,
                noncurrent_version_days=30,
                extra_statements=writers,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket = self.store.bucket
        self.register_outputs({"bucket_name": self.bucket.bucket})
