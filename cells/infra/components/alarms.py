"""The cell's alarms, the topic they notify, and the cell's dashboard (names `<cell>-…`).

Every alarm notifies the cell's SNS topic on ALARM and on OK (the policy pack refuses an alarm without
actions). The topic is encrypted with the cell's KMS key, whose policy lets CloudWatch use it: without
that grant CloudWatch cannot publish to an encrypted topic and the alarm notifies nobody.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from cells.core.observability import (
    P99_LATENCY_SECONDS,
    alarm_topic_name,
    canary_name,
    cell_dashboard_name,
)


@dataclass(frozen=True)
class CellAlarmsArgs:
    cell: str
    lb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    region: str = ""
    kms_key_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class _Alarm:
    suffix: str
    namespace: str
    metric: str
    stat: str  # Sum | Maximum | Average | Minimum, or a percentile such as p99
    dims: dict[str, Any]
    threshold: float
    op: str
    why: str
    missing: str = "notBreaching"


class CellAlarms(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(self, name: str, args: CellAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:observability:CellAlarms", name, None, opts)
        if args.kms_key_arn is None:
            raise ValueError(f"{name}: the cell's alarm topic needs the cell's KMS key (kms_key_arn)")
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            name=alarm_topic_name(args.cell),
            kms_master_key_id=args.kms_key_arn,
            opts=child,
        )
        lb = {"LoadBalancer": args.lb_arn_suffix}
        tg = {**lb, "TargetGroup": args.target_group_arn_suffix}
        service = {"ClusterName": args.cluster_name, "ServiceName": args.service_name}
        specs = [
            _Alarm("api-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", tg, 25,
                   "GreaterThanThreshold", "API answers 5xx"),
            _Alarm("unhealthy-targets", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", tg, 0,
                   "GreaterThanThreshold", "a task fails the load balancer's health check"),
            _Alarm("api-cpu", "AWS/ECS", "CPUUtilization", "Average", service, 85, "GreaterThanThreshold",
                   "API CPU stays high despite autoscaling"),
            _Alarm("api-p99-latency", "AWS/ApplicationELB", "TargetResponseTime", "p99", tg,
                   P99_LATENCY_SECONDS, "GreaterThanThreshold",
                   f"API p99 response time above {P99_LATENCY_SECONDS} s"),
            # No data means the canary stopped running: that is an alarm too.
            _Alarm("canary", "CloudWatchSynthetics", "SuccessPercent", "Minimum",
                   {"CanaryName": canary_name(args.cell)}, 100, "LessThanThreshold",
                   f"the health canary on {args.cell}.api fails", missing="breaching"),
        ]  # fmt: skip
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        for a in specs:
            percentile = a.stat.startswith("p")
            self.alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{a.suffix}",
                    name=f"{args.cell}-{a.suffix}",
                    alarm_description=f"Cell {args.cell}: {a.why}",
                    namespace=a.namespace,
                    metric_name=a.metric,
                    statistic=None if percentile else a.stat,
                    extended_statistic=a.stat if percentile else None,
                    dimensions=a.dims,
                    period=60 if a.namespace != "CloudWatchSynthetics" else 300,
                    evaluation_periods=5 if a.namespace != "CloudWatchSynthetics" else 2,
                    datapoints_to_alarm=3 if a.namespace != "CloudWatchSynthetics" else 2,
                    threshold=a.threshold,
                    comparison_operator=a.op,
                    treat_missing_data=a.missing,
                    alarm_actions=[self.topic.arn],
                    ok_actions=[self.topic.arn],
                    opts=child,
                )
            )
        region = args.region
        body = {
            "widgets": [
                _metric("API 5xx (sum / min)", region, 0, [["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                        "LoadBalancer", args.lb_arn_suffix, "TargetGroup", args.target_group_arn_suffix]], "Sum"),
                _metric("API p99 response time (s)", region, 8, [["AWS/ApplicationELB", "TargetResponseTime",
                        "LoadBalancer", args.lb_arn_suffix, "TargetGroup", args.target_group_arn_suffix]], "p99"),
                _metric("Healthy / unhealthy targets", region, 16, [
                    ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", args.lb_arn_suffix,
                     "TargetGroup", args.target_group_arn_suffix],
                    ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", args.lb_arn_suffix,
                     "TargetGroup", args.target_group_arn_suffix],
                ], "Maximum"),
                _metric("API CPU %", region, 0, [["AWS/ECS", "CPUUtilization", "ClusterName", args.cluster_name,
                        "ServiceName", args.service_name]], "Average", y=6),
                _metric("Health canary success %", region, 8, [["CloudWatchSynthetics", "SuccessPercent",
                        "CanaryName", canary_name(args.cell)]], "Average", y=6),
                {
                    "type": "alarm", "x": 16, "y": 6, "width": 8, "height": 6,
                    "properties": {"title": "Alarms", "alarms": [a.arn for a in self.alarms]},
                },
            ]
        }  # fmt: skip
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=cell_dashboard_name(args.cell),
            dashboard_body=pulumi.Output.json_dumps(body),
            opts=child,
        )
        self.register_outputs({"topic_arn": self.topic.arn})


def _metric(
    title: str, region: str, x: int, metrics: list[list[Any]], stat: str, y: int = 0
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 8,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
        },
    }


def fleet_dashboard_body(cells: list[tuple[str, str]], account_id: str) -> str:
    """One row per cell (name and region): its alarms' states and its health canary's success."""
    from cells.core.observability import ALARM_SUFFIXES

    widgets: list[dict[str, Any]] = []
    for row, (cell, region) in enumerate(cells):
        y = row * 6
        widgets.append(
            {
                "type": "text", "x": 0, "y": y, "width": 4, "height": 6,
                "properties": {"markdown": f"## {cell}\n{region}\n\n"
                               f"Dashboard: `{cell_dashboard_name(cell)}` in {region}"},
            }
        )  # fmt: skip
        alarms = [f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{cell}-{s}" for s in ALARM_SUFFIXES]
        widgets.append(
            {
                "type": "alarm", "x": 4, "y": y, "width": 10, "height": 6,
                "properties": {"title": f"{cell}: alarms", "alarms": alarms},
            }
        )  # fmt: skip
        widgets.append(
            {
                "type": "metric", "x": 14, "y": y, "width": 10, "height": 6,
                "properties": {
                    "title": f"{cell}: health canary success %", "region": region, "view": "timeSeries",
                    "stat": "Average", "period": 300,
                    "metrics": [["CloudWatchSynthetics", "SuccessPercent", "CanaryName", canary_name(cell)]],
                },
            }
        )  # fmt: skip
    return json.dumps({"widgets": widgets})
