"""A cell's capacity alarm: the movers and placement publish `MyARK/Cells Utilization` per cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# Keep equal to cells.ops.move_stores (METRIC_NAMESPACE, METRIC_NAME) and move_plan.ALARM_PERCENT;
# a test checks the plan against them.
METRIC_NAMESPACE = "MyARK/Cells"
METRIC_NAME = "Utilization"
ALARM_PERCENT = 80


@dataclass(frozen=True)
class CapacityAlarmArgs:
    cell: str
    # Where the alarm goes (e.g. the cell alarms' SNS topic); empty: it shows in `cells status` only.
    alarm_actions: Sequence[pulumi.Input[str]] = field(default_factory=tuple)


class CapacityAlarm(pulumi.ComponentResource):
    def __init__(self, name: str, args: CapacityAlarmArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:observability:CapacityAlarm", name, None, opts)
        actions = list(args.alarm_actions)
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-capacity",
            name=f"{args.cell}-capacity",
            alarm_description=f"Cell {args.cell}: {ALARM_PERCENT} % of myark:cell.capacity (users or tenants) in "
            "use; raise the capacity, move users out (cells rebalance) or lower its placement weight",
            namespace=METRIC_NAMESPACE,
            metric_name=METRIC_NAME,
            dimensions={"Cell": args.cell},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=ALARM_PERCENT,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # Utilization is published on every placement and move; a quiet hour is not a full cell.
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"alarm_name": self.alarm.name})
