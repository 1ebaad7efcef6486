"""The cell's alarms: what `cells status` and the deployment health gate read (names `<cell>-…`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class CellAlarmsArgs:
    cell: str
    lb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]


class CellAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: CellAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:observability:CellAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lb = {"LoadBalancer": args.lb_arn_suffix}
        tg = {**lb, "TargetGroup": args.target_group_arn_suffix}
        specs = [
            (
                "api-5xx",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                "Sum",
                tg,
                25,
                "GreaterThanThreshold",
                "API answers 5xx",
            ),
            (
                "unhealthy-targets",
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                "Maximum",
                tg,
                0,
                "GreaterThanThreshold",
                "a task fails the load balancer's health check",
            ),
            (
                "api-cpu",
                "AWS/ECS",
                "CPUUtilization",
                "Average",
                {"ClusterName": args.cluster_name, "ServiceName": args.service_name},
                85,
                "GreaterThanThreshold",
                "API CPU stays high despite autoscaling",
            ),
        ]
        for suffix, namespace, metric, stat, dims, threshold, op, why in specs:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                name=f"{args.cell}-{suffix}",
                alarm_description=f"Cell {args.cell}: {why}",
                namespace=namespace,
                metric_name=metric,
                statistic=stat,
                dimensions=dims,
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=3,
                threshold=threshold,
                comparison_operator=op,
                treat_missing_data="notBreaching",
                opts=child,
            )
        self.register_outputs({})
