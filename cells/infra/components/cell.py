"""Cell: one self-contained regional deployment of MyARK, composed of the components beside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from cells.core.config.cell import CellSpec
from cells.core.edge_sources import CLIENT_IP_HEADER, ingress_cidrs
from cells.core.naming import (
    api_host,
    api_service_account_email,
    cell_api_host,
    cell_app_host,
    control_plane_host,
    federation_audience,
    load_balancer_name,
    shard_map_parameter,
    target_group_name,
)
from cells.core.observability import canary_name, cell_dashboard_name
from cells.infra.components.alarms import CellAlarms, CellAlarmsArgs
from cells.infra.components.api import ApiService, ApiServiceArgs
from cells.infra.components.canary import HealthCanary, HealthCanaryArgs
from cells.infra.components.capacity import CapacityAlarm, CapacityAlarmArgs
from cells.infra.components.data_stores import DataStores, DataStoresArgs
from cells.infra.components.federation import Federation, FederationArgs
from cells.infra.components.frontend import Frontend, FrontendArgs
from cells.infra.components.kms import DECRYPT, ENCRYPT_DECRYPT, CellKey, CellKeyArgs
from cells.infra.components.load_balancer import LoadBalancer, LoadBalancerArgs
from cells.infra.components.network import Network, NetworkArgs
from cells.infra.components.policy_documents import statement
from cells.infra.components.storage import DocumentStore, DocumentStoreArgs, LogArchive, LogArchiveArgs


@dataclass(frozen=True)
class CellArgs:
    spec: CellSpec
    domain: str
    environment: str
    edge_provider: str
    account_id: pulumi.Input[str]
    gcp_project_number: pulumi.Input[str]
    billing_bus_arn: pulumi.Input[str]
    identity_issuer: pulumi.Input[str]
    certify: Callable[..., pulumi.Output[str]] | None = None
    origin_secrets: pulumi.Input[list[str]] | None = None
    """Cloudflare edge: the load balancer forwards only requests carrying one of these."""


class Cell(pulumi.ComponentResource):
    def __init__(self, name: str, args: CellArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:cell:Cell", name, None, opts)
        spec = args.spec
        facts = spec.facts
        child = pulumi.ResourceOptions(parent=self)
        self.key = CellKey(
            f"{name}-data",
            CellKeyArgs(
                region=spec.region,
                account_id=args.account_id,
                description=f"MyARK cell {name}: documents, logs, parameters",
            ),
            opts=child,
        )
        self.logs = LogArchive(
            name,
            LogArchiveArgs(
                account_id=args.account_id,
                retention_days=spec.load_balancer.access_log_retention_days,
                region=spec.region,
            ),
            opts=child,
        )
        log_bucket = self.logs.bucket.bucket
        self.network = Network(
            name,
            NetworkArgs(
                region=spec.region,
                cidr=spec.network.cidr,
                azs=facts.az_names[: spec.network.az_count],
                nat_gateways=spec.network.nat_gateways,
                flow_log_retention_days=spec.network.flow_log_retention_days,
                kms_key_arn=self.key.arn,
                account_id=args.account_id,
            ),
            opts=child,
        )
        self.load_balancer = LoadBalancer(
            name,
            LoadBalancerArgs(
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                ingress_cidrs=ingress_cidrs(args.edge_provider),
                # The cell validates its own name; api.<domain> is shared by every cell, its record is
                # the global stack's (one record per name in the account).
                host_names=(cell_api_host(name, args.domain),),
                shared_host_names=(api_host(args.domain),),
                name=load_balancer_name(name),
                target_group_name=target_group_name(name),
                ssl_policy=spec.load_balancer.ssl_policy,
                idle_timeout_seconds=spec.load_balancer.idle_timeout_seconds,
                access_log_bucket=log_bucket,
                target_port=spec.api.port,
                health_check_path=spec.api.health_check_path,
                log_retention_days=spec.api.log_retention_days,
                kms_key_arn=self.key.arn,
                certify=args.certify,
                origin_secrets=args.origin_secrets,
                client_ip_header=CLIENT_IP_HEADER if args.edge_provider == "cloudflare" else None,
            ),
            opts=child,
        )
        self.documents = DocumentStore(
            name,
            DocumentStoreArgs(
                kms_key_arn=self.key.arn,
                noncurrent_version_days=spec.documents.noncurrent_version_days,
                access_log_bucket=log_bucket,
            ),
            opts=child,
        )
        self.api = ApiService(
            f"{name}-api",
            ApiServiceArgs(
                spec=spec.api,
                region=spec.region,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                target_group_arn=self.load_balancer.target_group.arn,
                kms_key_arn=self.key.arn,
                account_id=args.account_id,
                environment={
                    "MYARK_GCP_AUDIENCE": pulumi.Output.from_input(args.gcp_project_number).apply(
                        lambda n: federation_audience(n, name)
                    ),
                    "MYARK_GCP_SERVICE_ACCOUNT": api_service_account_email(name, spec.gcp.project),
                    "MYARK_GCP_PROJECT": spec.gcp.project,
                    "MYARK_SHARD_MAP_PARAMETER": shard_map_parameter(name),
                    "MYARK_BILLING_BUS_ARN": args.billing_bus_arn,
                    "MYARK_IDENTITY_ISSUER": args.identity_issuer,
                    "MYARK_CELL": name,
                    "MYARK_REGION": spec.region,
                    "MYARK_RESIDENCY": spec.zone,
                    "MYARK_DOCUMENTS_BUCKET": self.documents.bucket.bucket,
                },
            ),
            opts=child,
        )
        self.load_balancer.allow_to(self.api.security_group, spec.api.port)
        self.documents.grant_read_write(self.api)
        self.key.grant(self.api, "documents-key", ENCRYPT_DECRYPT, via=["s3"])
        self.data = DataStores(name, DataStoresArgs(spec=spec, project=spec.gcp.project), opts=child)
        self.federation = Federation(
            name,
            FederationArgs(
                project=spec.gcp.project,
                cell=name,
                aws_account_id=args.account_id,
                task_role_name=self.api.task_role.name,
                datasets=self.data.datasets,
                databases={
                    physical: next(
                        (t for t, s in spec.shards.tenants.items() if s.physical == physical), None
                    )
                    for physical in self.data.databases
                },
            ),
            opts=child,
        )
        self.shard_map = aws.ssm.Parameter(
            f"{name}-shard-map",
            name=shard_map_parameter(name),
            type="SecureString",
            key_id=self.key.arn,
            value=json.dumps(spec.shards.to_public_dict(), sort_keys=True),
            description=f"Shard map of cell {name} (validated at deploy; read by the API)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.api.add_to_role_policy(
            "billing-publish", [statement("Allow", ["events:PutEvents"], args.billing_bus_arn)]
        )
        self.api.add_to_role_policy(
            "shard-map-read", [statement("Allow", ["ssm:GetParameter"], self.shard_map.arn)]
        )
        self.key.grant(self.api, "shard-map-key", DECRYPT, via=["ssm"])
        alarms = CellAlarms(
            name,
            CellAlarmsArgs(
                cell=name,
                lb_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffix=self.load_balancer.target_group.arn_suffix,
                cluster_name=self.api.cluster.name,
                service_name=self.api.service.name,
                region=spec.region,
                kms_key_arn=self.key.arn,
            ),
            opts=child,
        )
        self.alarms = alarms
        HealthCanary(
            name,
            HealthCanaryArgs(
                cell=name,
                region=spec.region,
                health_url=f"https://{cell_api_host(name, args.domain)}{spec.api.health_check_path}",
                kms_key_arn=self.key.arn,
                account_id=args.account_id,
                access_log_bucket=log_bucket,
            ),
            opts=child,
        )
        CapacityAlarm(name, CapacityAlarmArgs(cell=name, alarm_actions=[alarms.topic.arn]), opts=child)
        self.frontend = Frontend(
            name,
            FrontendArgs(
                host_name=cell_app_host(name, args.domain),
                price_class=spec.frontend.price_class,
                account_id=args.account_id,
                access_log_bucket=log_bucket,
                certify=args.certify,
                connect_origins=(
                    f"https://{api_host(args.domain)}",
                    f"https://{cell_api_host(name, args.domain)}",
                    f"https://{control_plane_host(args.domain)}",
                    # Cognito's user-pool API (sign-in, token refresh) from the issuer's origin.
                    pulumi.Output.from_input(args.identity_issuer).apply(
                        lambda i: "/".join(i.split("/")[:3])
                    ),
                ),
            ),
            opts=child,
        )
        self.outputs = {
            "cell": name,
            "region": spec.region,
            "residency": spec.zone,
            "apiHost": cell_api_host(name, args.domain),
            "loadBalancerDnsName": self.load_balancer.alb.dns_name,
            "loadBalancerZoneId": self.load_balancer.alb.zone_id,
            "frontendDomainName": self.frontend.distribution.domain_name,
            "documentsBucket": self.documents.bucket.bucket,
            "apiTaskRoleArn": self.api.task_role.arn,
            "ecsCluster": self.api.cluster.name,
            "ecsService": self.api.service.name,
            # The release gate: `cells status --expect-task-definition` and the rollback's last good image.
            "apiTaskDefinitionArn": self.api.task_definition.arn,
            "apiImage": spec.api.image,
            "alarmTopicArn": alarms.topic.arn,
            "healthCanary": canary_name(name),
            "dashboard": cell_dashboard_name(name),
            "shardMap": spec.shards.to_public_dict(),
            "shardMapParameter": self.shard_map.name,
            "firestoreDatabases": sorted(self.data.databases),
            "gcpAudience": self.federation.audience,
            "gcpServiceAccount": self.federation.service_account.email,
        }
        self.register_outputs(self.outputs)
