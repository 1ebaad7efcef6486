"""The cell's VPC: public, private and isolated subnets over its AZs, NAT, endpoints, flow logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from cells.core.network_layout import carve
from cells.infra.components.policy_documents import assume_role, document, endpoint_policy, statement
from cells.infra.components.protection import protected_log_group

# Interface endpoints keep AWS API traffic of the tasks off the NAT and the internet.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "sts", "ssm", "kms")


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: str
    azs: tuple[str, ...]
    nat_gateways: Literal["perAz", "single"]
    flow_log_retention_days: int
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            opts=child,
        )
        vpc_id = self.vpc.id
        # The default security group admits nothing: every tier gets its own group.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc_id, ingress=[], egress=[], opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc_id, opts=child)

        subnets: dict[str, dict[str, aws.ec2.Subnet]] = {"public": {}, "private": {}, "isolated": {}}
        for plan in carve(args.cidr, args.azs):
            subnets[plan.tier][plan.az] = aws.ec2.Subnet(
                f"{name}-{plan.tier}-{plan.az}",
                vpc_id=vpc_id,
                cidr_block=plan.cidr,
                availability_zone=plan.az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-{plan.tier}-{plan.az}", "myark:tier": plan.tier},
                opts=child,
            )
        self.public_subnet_ids: list[pulumi.Input[str]] = [s.id for s in subnets["public"].values()]
        self.private_subnet_ids: list[pulumi.Input[str]] = [s.id for s in subnets["private"].values()]
        self.isolated_subnet_ids: list[pulumi.Input[str]] = [s.id for s in subnets["isolated"].values()]

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc_id, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for az, subnet in subnets["public"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{az}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )

        nat_azs = args.azs if args.nat_gateways == "perAz" else args.azs[:1]
        nats: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_azs:
            eip = aws.ec2.Eip(f"{name}-nat-eip-{az}", domain="vpc", opts=child)
            nats[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}", allocation_id=eip.id, subnet_id=subnets["public"][az].id, opts=child
            )
        private_rts: list[aws.ec2.RouteTable] = []
        for az, subnet in subnets["private"].items():
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{az}", vpc_id=vpc_id, opts=child)
            nat = nats.get(az) or nats[nat_azs[0]]
            aws.ec2.Route(
                f"{name}-private-default-{az}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{az}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            private_rts.append(rt)
        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", vpc_id=vpc_id, opts=child)
        for az, subnet in subnets["isolated"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-rta-{az}", subnet_id=subnet.id, route_table_id=isolated_rt.id, opts=child
            )

        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc_id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in [*private_rts, isolated_rt]],
            policy=endpoint_policy("s3", args.region, args.account_id),
            opts=child,
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc_id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [args.cidr],
                    "description": "HTTPS from the VPC",
                }
            ],
            egress=[],
            opts=child,
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id],
                policy=endpoint_policy(service, args.region, args.account_id),
                opts=child,
            )

        flow_logs = protected_log_group(
            f"{name}-flow-logs",
            self,
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.kms_key_arn,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            # Only this account's flow logs may assume it (confused deputy).
            assume_role_policy=pulumi.Output.json_dumps(
                assume_role(
                    "vpc-flow-logs.amazonaws.com",
                    args.account_id,
                    source_arn=pulumi.Output.from_input(args.account_id).apply(
                        lambda a: f"arn:aws:ec2:{args.region}:{a}:vpc-flow-log/*"
                    ),
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                document(
                    statement(
                        "Allow",
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [flow_logs.arn, flow_logs.arn.apply(lambda a: f"{a}:*")],
                    )
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
        self.vpc_id = vpc_id
        self.register_outputs({"vpc_id": vpc_id, "private_subnet_ids": self.private_subnet_ids})
