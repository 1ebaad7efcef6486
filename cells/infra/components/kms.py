"""The cell's KMS key: encrypts documents, the frontend, logs and published parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from cells.infra.components.policy_documents import document, logs_key_statement, statement
from cells.infra.components.protection import kept


class Grantee(Protocol):
    def add_to_role_policy(self, name: str, statements: list[dict[str, Any]]) -> None: ...


DECRYPT = ["kms:Decrypt"]
ENCRYPT_DECRYPT = ["kms:Decrypt", "kms:GenerateDataKey"]


@dataclass(frozen=True)
class CellKeyArgs:
    region: str
    account_id: pulumi.Input[str]
    description: str
    eventbridge: bool = False
    """EventBridge encrypts with the key (the billing bus and its archive): its key-policy grant."""


class CellKey(pulumi.ComponentResource):
    key: aws.kms.Key

    def __init__(self, name: str, args: CellKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:security:CellKey", name, None, opts)
        account = pulumi.Output.from_input(args.account_id)
        root = account.apply(lambda a: f"arn:aws:iam::{a}:root")
        services = []
        if args.eventbridge:
            # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html and
            # .../encryption-archives.html (an archive also re-encrypts).
            services.append(
                statement(
                    "Allow",
                    ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"],
                    "*",
                    Sid="EventBridgeOfThisAccount",
                    Principal={"Service": "events.amazonaws.com"},
                    Condition={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        policy = document(
            statement("Allow", ["kms:*"], "*", Sid="AccountAdministers", Principal={"AWS": root}),
            *services,
            logs_key_statement(args.region, account),
            # CloudWatch alarms publish to the cell's encrypted SNS topic only with this grant.
            statement(
                "Allow",
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                "*",
                Sid="CloudWatchAlarmsToTheCellTopic",
                Principal={"Service": "cloudwatch.amazonaws.com"},
                Condition={"StringEquals": {"aws:SourceAccount": account}},
            ),
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            # The longest wait AWS allows between a delete request and the key's destruction.
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(policy),
            opts=kept(self),
        )
        aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/myark/{name}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.key.arn
        self.region = args.region
        self.register_outputs({"arn": self.key.arn})

    def grant(self, grantee: Grantee, name: str, actions: list[str], via: list[str]) -> None:
        """Key statements only, and only through the named AWS services of this region (e.g. `s3`,
        `ssm`): the grantee cannot call KMS directly with its credentials."""
        if not via:
            raise ValueError(f"{name}: a key grant names the services that use the key (kms:ViaService)")
        services = sorted(f"{service}.{self.region}.amazonaws.com" for service in via)
        grantee.add_to_role_policy(
            name,
            [
                statement(
                    "Allow",
                    actions,
                    self.key.arn,
                    Sid="KeyViaService",
                    Condition={"StringEquals": {"kms:ViaService": services}},
                )
            ],
        )
