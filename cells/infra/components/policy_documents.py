"""IAM policy documents as dicts (values may be Outputs; encode with `pulumi.Output.json_dumps`)."""

from __future__ import annotations

from typing import Any


def statement(effect: str, actions: list[str], resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": actions, "Resource": resources, **extra}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def logs_key_statement(region: str, account_id: Any, log_groups: str = "*") -> dict[str, Any]:
    """The key-policy grant CloudWatch Logs needs to encrypt this account's log groups LOG_GROUPS
    (a name pattern) in REGION. No kms:Describe*: DescribeKey carries no encryption context, so the
    condition would never admit it. StringLike: the context value is a string (IAM's type for it)."""
    import pulumi

    return statement(
        "Allow",
        ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "*",
        Sid="CloudWatchLogsOfThisAccount",
        Principal={"Service": f"logs.{region}.amazonaws.com"},
        Condition={
            "StringLike": {
                "kms:EncryptionContext:aws:logs:arn": pulumi.Output.from_input(account_id).apply(
                    lambda a: f"arn:aws:logs:{region}:{a}:log-group:{log_groups}"
                )
            }
        },
    )


def assume_role(service: str, source_account: Any = None, source_arn: Any = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition: dict[str, Any] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        st["Condition"] = condition
    return document(st)


# What the cell calls through each VPC endpoint, and nothing else.
ENDPOINT_ACTIONS = {
    "s3": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
    "ecr.api": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage"],
    "ecr.dkr": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
    "logs": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
    "sts": ["sts:GetCallerIdentity"],
    "ssm": ["ssm:GetParameter", "ssm:GetParameters"],
    "kms": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
}


def endpoint_policy(service: str, region: str, account_id: Any) -> Any:
    """A data perimeter on a VPC endpoint: this account's principals, on this account's resources,
    doing what the cell does through it. Stolen credentials of another account, or a bucket of
    another account as an exfiltration target, get nowhere. ECR's image layers live in an AWS-owned
    bucket, named here."""
    import pulumi

    actions = ENDPOINT_ACTIONS[service]
    statements = [
        statement(
            "Allow",
            actions,
            "*",
            Sid="ThisAccountOnly",
            Principal={"AWS": "*"},
            Condition={
                "StringEquals": {"aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}
            },
        )
    ]
    if service == "s3":
        statements.append(
            statement(
                "Allow",
                ["s3:GetObject"],
                f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*",
                Sid="EcrImageLayers",
                Principal={"AWS": "*"},
                Condition={"StringEquals": {"aws:PrincipalAccount": account_id}},
            )
        )
    return pulumi.Output.json_dumps(document(*statements))


def bucket_guards(bucket_arn: Any, objects_arn: Any) -> list[dict[str, Any]]:
    """What every bucket refuses: plain HTTP, TLS older than 1.2, and its own deletion."""
    both = [bucket_arn, objects_arn]
    return [
        statement(
            "Deny",
            ["s3:*"],
            both,
            Sid="DenyInsecureTransport",
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
        statement(
            "Deny",
            ["s3:*"],
            both,
            Sid="DenyTlsBelow12",
            Principal="*",
            Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        ),
        # Deletion guard at the cloud: nobody deletes the bucket until this statement is removed.
        statement("Deny", ["s3:DeleteBucket"], bucket_arn, Sid="DenyBucketDeletion", Principal="*"),
    ]


def version_guard(objects_arn: Any) -> dict[str, Any]:
    """A bucket of user data refuses to everyone (its account's admins and the API included) the
    erasure of an object version: a delete only adds a delete marker, and the old version stays
    recoverable until the lifecycle expires it (`noncurrent_version_days`, GDPR erasure included)."""
    return statement("Deny", ["s3:DeleteObjectVersion"], objects_arn, Sid="DenyVersionErasure", Principal="*")
