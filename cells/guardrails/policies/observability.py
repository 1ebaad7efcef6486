"""Cells you can watch: every alarm acts when it fires."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cells.guardrails.policies.readers import _items
from cells.guardrails.policies.registry import MANDATORY, resource_policy
from cells.guardrails.policies.resource_types import COMPOSITE_ALARM, METRIC_ALARM


@resource_policy(
    "alarm-actions",
    "Every CloudWatch alarm notifies someone when it fires (alarm actions set and enabled).",
    MANDATORY,
    remediation="set alarm_actions (and ok_actions) to the cell's alarm topic (cells.infra.components.alarms.CellAlarms.topic).",
)
def ALARM_ACTIONS(args: Any) -> Iterator[str]:
    """An alarm that notifies nobody is a dashboard colour: every alarm must act when it fires."""
    if args.resource_type not in (METRIC_ALARM, COMPOSITE_ALARM):
        return
    if args.props.get("actionsEnabled") is False:
        yield "the alarm has actionsEnabled=false."
    elif not _items(args.props.get("alarmActions")):
        yield "the alarm has no alarmActions: it notifies nobody when it fires."
