"""myark:cell.capacity: parsed with the cell, refused when nonsensical, alarmed at 80 % in every cell's plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cells.core.config.stack_files import load_stack
from cells.core.errors import ConfigError
from cells.infra.components import capacity
from cells.ops import move_plan, move_stores


def test_capacity_defaults_and_overrides(fleet_copy: Path) -> None:
    assert load_stack("eu-central-1", fleet_copy).cell.capacity.max_users == 1_000_000
    path = fleet_copy / "Pulumi.eu-central-1.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["myark:cell"]["capacity"] = {"maxUsers": 50_000, "maxTenants": 2}
    path.write_text(yaml.safe_dump(doc))
    cap = load_stack("eu-central-1", fleet_copy).cell.capacity
    assert (cap.max_users, cap.max_tenants) == (50_000, 2)


@pytest.mark.parametrize(("value", "message"), [({"maxUsers": 0}, "maxUsers"), ({"maxSeats": 3}, "maxSeats")])
def test_bad_capacity_is_one_message(fleet_copy: Path, value: dict, message: str) -> None:
    path = fleet_copy / "Pulumi.eu-central-1.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["myark:cell"]["capacity"] = value
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=rf"Pulumi.eu-central-1.yaml: myark:cell.capacity.{message}"):
        load_stack("eu-central-1", fleet_copy)


@pytest.mark.parametrize("stack", ["eu-central-1", "us-east-1"])
def test_every_cell_alarms_at_80_percent_of_its_capacity(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    (alarm,) = [
        r for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if r.name.endswith("-capacity")
    ]
    inputs = alarm.inputs
    assert inputs["name"] == f"{stack}-capacity"
    assert inputs["namespace"] == move_stores.METRIC_NAMESPACE == capacity.METRIC_NAMESPACE
    assert inputs["metricName"] == move_stores.METRIC_NAME
    assert inputs["dimensions"] == {"Cell": stack}
    assert inputs["threshold"] == move_plan.ALARM_PERCENT == 80
    assert inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm.region == stack
