"""The cell's KMS key: encrypts documents, the frontend, logs and published parameters."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.policy_documents import document, statement


@dataclass(frozen=True)
class CellKeyArgs:
    region: str
    account_id: pulumi.Input[str]
    description: str


class CellKey(pulumi.ComponentResource):
    key: aws.kms.Key

    def __init__(self, name: str, args: CellKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:security:CellKey", name, None, opts)
        account = pulumi.Output.from_input(args.account_id)
        root = account.apply(lambda a: f"arn:aws:iam::{a}:root")
        policy = document(
            statement("Allow", ["kms:*"], "*", Sid="AccountAdministers", Principal={"AWS": root}),
            statement(
                "Allow",
                ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "*",
                Sid="CloudWatchLogsOfThisAccount",
                Principal={"Service": f"logs.{args.region}.amazonaws.com"},
                Condition={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": account.apply(
                            lambda a: f"arn:aws:logs:{args.region}:{a}:log-group:*"
                        )
                    }
                },
            ),
            # CloudWatch alarms publish to the cell's encrypted SNS topic only with this grant.
            statement(
                "Allow",
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                "*",
                Sid="CloudWatchAlarmsToTheCellTopic",
                Principal={"Service": "cloudwatch.amazonaws.com"},
                Condition={"StringEquals": {"aws:SourceAccount": account}},
            ),
            statement(
                "Allow",
                ["kms:Decrypt"],
                "*",
                Sid="CloudFrontOriginAccessOfThisAccount",
                Principal={"Service": "cloudfront.amazonaws.com"},
                Condition={
                    "StringLike": {
                        "aws:SourceArn": account.apply(lambda a: f"arn:aws:cloudfront::{a}:distribution/*")
                    }
                },
            ),
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            # The longest wait AWS allows between a delete request and the key's destruction.
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(policy),
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/myark/{name}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn})
