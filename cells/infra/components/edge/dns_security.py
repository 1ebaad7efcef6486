"""The public hosted zone's integrity and audit: DNSSEC signing and DNS query logging.

Route53 demands both in us-east-1: the key-signing key's KMS key (asymmetric, ECC_NIST_P256) and the
query log group. The global stack lives there; the logs hold resolver addresses and queried names
(for resolvers that send EDNS client subnet, a truncated client network), no user data, and are kept
30 days. Signing starts with `pulumi up`; the DS record at the registrar is a manual step (README).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from cells.infra.components.policy_documents import document, logs_key_statement, statement
from cells.infra.components.protection import kept, protected_log_group

ROUTE53_REGION = "us-east-1"
QUERY_LOG_RETENTION_DAYS = 30


class ZoneSecurity(pulumi.ComponentResource):
    def __init__(self, name: str, zone: aws.route53.Zone, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:edge:ZoneSecurity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = kept(self)
        account = aws.get_caller_identity_output().account_id
        root = account.apply(lambda a: f"arn:aws:iam::{a}:root")
        zones = "arn:aws:route53:::hostedzone/*"

        signing_key = aws.kms.Key(
            f"{name}-dnssec-key",
            region=ROUTE53_REGION,
            description="MyARK DNSSEC key-signing key of the public zone",
            customer_master_key_spec="ECC_NIST_P256",
            key_usage="SIGN_VERIFY",
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                document(
                    statement("Allow", ["kms:*"], "*", Sid="AccountAdministers", Principal={"AWS": root}),
                    statement(
                        "Allow",
                        ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
                        "*",
                        Sid="Route53DnssecOfThisAccount",
                        Principal={"Service": "dnssec-route53.amazonaws.com"},
                        Condition={
                            "StringEquals": {"aws:SourceAccount": account},
                            "ArnLike": {"aws:SourceArn": zones},
                        },
                    ),
                    statement(
                        "Allow",
                        ["kms:CreateGrant"],
                        "*",
                        Sid="Route53DnssecGrants",
                        Principal={"Service": "dnssec-route53.amazonaws.com"},
                        Condition={"Bool": {"kms:GrantIsForAWSResource": True}},
                    ),
                )
            ),
            opts=keep,
        )
        ksk = aws.route53.KeySigningKey(
            f"{name}-ksk",
            name="myark",
            hosted_zone_id=zone.zone_id,
            key_management_service_arn=signing_key.arn,
            status="ACTIVE",
            opts=child,
        )
        aws.route53.HostedZoneDnsSec(
            f"{name}-dnssec",
            hosted_zone_id=ksk.hosted_zone_id,
            signing_status="SIGNING",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ksk]),
        )

        logs_key = aws.kms.Key(
            f"{name}-query-logs-key",
            region=ROUTE53_REGION,
            description="MyARK DNS query logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                document(
                    statement("Allow", ["kms:*"], "*", Sid="AccountAdministers", Principal={"AWS": root}),
                    # Route53 writes only to groups named /aws/route53/...
                    logs_key_statement(ROUTE53_REGION, account, "/aws/route53/*"),
                )
            ),
            opts=keep,
        )
        log_group = protected_log_group(
            f"{name}-query-logs",
            self,
            region=ROUTE53_REGION,
            # Route53 writes only to groups named /aws/route53/...
            name=zone.name.apply(lambda n: f"/aws/route53/{n}"),
            retention_in_days=QUERY_LOG_RETENTION_DAYS,
            kms_key_id=logs_key.arn,
            opts=keep,
        )
        writer = aws.cloudwatch.LogResourcePolicy(
            f"{name}-query-logs-writer",
            region=ROUTE53_REGION,
            policy_name="myark-route53-query-logs",
            policy_document=pulumi.Output.json_dumps(
                document(
                    statement(
                        "Allow",
                        ["logs:CreateLogStream", "logs:PutLogEvents"],
                        account.apply(
                            lambda a: (
                                f"arn:aws:logs:{ROUTE53_REGION}:{a}:log-group:/aws/route53/*:log-stream:*"
                            )
                        ),
                        Sid="Route53QueryLogsOfThisAccount",
                        Principal={"Service": "route53.amazonaws.com"},
                        Condition={
                            "StringEquals": {"aws:SourceAccount": account},
                            "ArnLike": {"aws:SourceArn": zones},
                        },
                    )
                )
            ),
            opts=child,
        )
        aws.route53.QueryLog(
            f"{name}-query-log",
            zone_id=zone.zone_id,
            cloudwatch_log_group_arn=log_group.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[writer]),
        )
        self.register_outputs({"query_log_group": log_group.name})
