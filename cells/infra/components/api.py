"""The cell's API: ECS Fargate in private subnets behind the load balancer, least-privilege roles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.config.cell import ApiSpec
from cells.infra.components.policy_documents import assume_role, document, statement
from cells.infra.components.protection import protected_log_group


@dataclass(frozen=True)
class ApiServiceArgs:
    spec: ApiSpec
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Input[str]]
    target_group_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)


PRIVATE_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def execution_statements(image: str, log_group_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """What ECS needs to start the task: write its log streams, pull its image (private ECR only)."""
    streams = pulumi.Output.from_input(log_group_arn).apply(lambda a: f"{a}:log-stream:*")
    statements = [statement("Allow", ["logs:CreateLogStream", "logs:PutLogEvents"], streams, Sid="TaskLogs")]
    ecr = PRIVATE_ECR.match(image)
    if ecr:
        account, region, repository = ecr.groups()
        statements += [
            # GetAuthorizationToken has no resource type: "*" is the only form IAM accepts.
            statement("Allow", ["ecr:GetAuthorizationToken"], "*", Sid="RegistryLogin"),
            statement(
                "Allow",
                ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                f"arn:aws:ecr:{region}:{account}:repository/{repository}",
                Sid="ImagePull",
            ),
        ]
    return statements


class ApiService(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:compute:ApiService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enhanced"}], opts=child
        )
        self.log_group = protected_log_group(
            f"{name}-logs", self, retention_in_days=spec.log_retention_days, kms_key_id=args.kms_key_arn
        )
        ecs_trust = pulumi.Output.json_dumps(assume_role("ecs-tasks.amazonaws.com", args.account_id))
        self.execution_role = aws.iam.Role(f"{name}-execution-role", assume_role_policy=ecs_trust, opts=child)
        # Not AmazonECSTaskExecutionRolePolicy (ECR and logs actions on "*"): the task's own log
        # group, and pulls from the image's own repository when it is a private ECR one.
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=self.execution_role.id,
            policy=pulumi.Output.json_dumps(document(*execution_statements(spec.image, self.log_group.arn))),
            opts=child,
        )
        # The task role starts empty: each store grants exactly what the API needs of it.
        self.task_role = aws.iam.Role(f"{name}-task-role", assume_role_policy=ecs_trust, opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="API tasks: from the load balancer only", opts=child
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=self.security_group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS out (AWS endpoints, GCP APIs) through NAT or endpoints",
            opts=child,
        )
        container = {
            "name": "api",
            "image": spec.image,
            "essential": True,
            "readonlyRootFilesystem": True,
            "user": "10001",
            "portMappings": [{"containerPort": spec.port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(args.environment.items())],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group.name,
                    "awslogs-region": args.region,
                    "awslogs-stream-prefix": "api",
                },
            },
            "linuxParameters": {"initProcessEnabled": True},
        }
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=name,
            cpu=str(spec.cpu),
            memory=str(spec.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "ARM64"},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            opts=child,
        )
        self.service = aws.ecs.Service(
            f"{name}-service",
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            launch_type="FARGATE",
            desired_count=spec.desired_count,
            network_configuration={
                "subnets": args.private_subnet_ids,
                "security_groups": [self.security_group.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": args.target_group_arn,
                    "container_name": "api",
                    "container_port": spec.port,
                }
            ],
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_execute_command=False,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCount"]),
        )
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name),
            min_capacity=spec.min_count,
            max_capacity=spec.max_count,
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{name}-cpu-scaling",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": spec.cpu_target_percent,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "scale_in_cooldown": 120,
                "scale_out_cooldown": 60,
            },
            opts=child,
        )
        self.register_outputs(
            {"cluster": self.cluster.name, "service": self.service.name, "task_role_arn": self.task_role.arn}
        )

    def add_to_role_policy(self, name: str, statements: list[dict[str, Any]]) -> None:
        """One inline policy of the task role. Callers are grants (`bucket.grant_read_write(api)`,
        `key.grant_decrypt(api, via=...)`): each emits the statements of its own resource only."""
        aws.iam.RolePolicy(
            f"{self._name}-{name}",
            role=self.task_role.id,
            policy=pulumi.Output.json_dumps(document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )
