"""Live health of a cell on moto accounts: serving cells pass; missing targets or tasks, or alarms, fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from moto import mock_aws
from ops_support import client, fake_credentials, run

from cells.ops import status

CELL = "eu-central-1"  # the project's eu cell: stack, cell name and region
TAGS = [{"Key": "myark:cell", "Value": CELL}, {"Key": "myark:residency", "Value": "eu"}]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_credentials(monkeypatch, "us-east-1")
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING", raising=False)
    monkeypatch.setenv(
        "MOTO_EC2_LOAD_DEFAULT_AMIS", "false"
    )  # the VPC needs no AMIs; loading them costs seconds
    with mock_aws():
        yield


def target_group(name: str, targets: int, tags: list[dict[str, str]] = TAGS) -> str:
    """An ip target group (Fargate tasks) with `targets` registered tasks; moto reports them healthy."""
    ec2 = client("ec2", region_name=CELL)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.32.0.0/16"]}])["Vpcs"]
    vpc = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.32.0.0/16")["Vpc"]["VpcId"]
    elb = client("elbv2", region_name=CELL)
    arn = elb.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", Tags=tags
    )["TargetGroups"][0]["TargetGroupArn"]
    if targets:
        elb.register_targets(
            TargetGroupArn=arn, Targets=[{"Id": f"10.32.1.{i + 10}", "Port": 8080} for i in range(targets)]
        )
    return arn


def service(name: str, desired: int, *, running: bool, tags: list[dict[str, str]] = TAGS) -> None:
    """An ECS service; moto starts it with 0 running (all pending) and runs all after an update."""
    ecs = client("ecs", region_name=CELL)
    ecs.create_cluster(clusterName=CELL)
    ecs.register_task_definition(
        family=name, containerDefinitions=[{"name": "api", "image": "api:1", "memory": 512}]
    )
    ecs_tags = [{"key": t["Key"], "value": t["Value"]} for t in tags]
    ecs.create_service(
        cluster=CELL, serviceName=name, taskDefinition=name, desiredCount=desired, tags=ecs_tags
    )
    if running:
        ecs.update_service(cluster=CELL, service=name, desiredCount=desired)


def alarm(name: str, *, firing: bool, tags: list[dict[str, str]] | None = None) -> None:
    cw = client("cloudwatch", region_name=CELL)
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        Tags=tags or [],
    )
    if firing:
        cw.set_alarm_state(
            AlarmName=name, StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [42.0] > 10"
        )


def serving_cell() -> None:
    target_group(f"{CELL}-api", targets=2)
    service("api", desired=2, running=True)
    alarm(f"{CELL}-api-5xx", firing=False)
    # Another cell's troubles are not ours.
    target_group("us-east-1-api", targets=0, tags=[{"Key": "myark:cell", "Value": "us-east-1"}])
    alarm("us-east-1-api-5xx", firing=True)


def test_a_serving_cell_is_healthy(fleet_copy: Path, account: None, tmp_path: Path, capsys) -> None:
    serving_cell()
    report = tmp_path / "status.json"
    assert run(["status", CELL, "--json", str(report)], fleet_copy) == 0
    out = capsys.readouterr().out
    assert f"Health of cell {CELL} in {CELL}: healthy" in out
    assert "2/2 targets healthy" in out and "2/2 tasks running" in out
    data = json.loads(report.read_text())
    assert data["healthy"] is True and data["cell"] == CELL
    assert {(c["kind"], c["name"], c["ok"]) for c in data["checks"]} == {
        ("target-group", f"{CELL}-api", True),
        ("ecs-service", f"{CELL}/api", True),
    }


def test_missing_tasks_empty_target_groups_and_firing_alarms_make_a_cell_unhealthy(
    fleet_copy: Path, account: None, capsys
) -> None:
    serving_cell()
    target_group(f"{CELL}-admin", targets=0)
    service("worker", desired=3, running=False)
    alarm(f"{CELL}-api-latency", firing=True)  # by name
    alarm("queue-depth", firing=True, tags=TAGS)  # by tag
    assert run(["status", CELL, "--json", "-"], fleet_copy) == 1
    data = json.loads(capsys.readouterr().out)
    failing = {(c["kind"], c["name"]): c["detail"] for c in data["checks"] if not c["ok"]}
    assert set(failing) == {
        ("target-group", f"{CELL}-admin"),
        ("ecs-service", f"{CELL}/worker"),
        ("alarm", f"{CELL}-api-latency"),
        ("alarm", "queue-depth"),
    }
    assert failing[("ecs-service", f"{CELL}/worker")] == "0/3 tasks running (3 pending)"
    assert failing[("target-group", f"{CELL}-admin")].startswith("no registered targets")
    assert "Threshold Crossed" in failing[("alarm", "queue-depth")]


def test_partly_running_service_is_unhealthy(fleet_copy: Path, account: None, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")  # moto: services start with 1 task running
    target_group(f"{CELL}-api", targets=2)
    service("api", desired=2, running=False)
    assert run(["status", CELL], fleet_copy) == 1
    out = capsys.readouterr().out
    assert "UNHEALTHY" in out and "FAIL" in out and "1/2 tasks running (1 pending)" in out


def test_a_cell_with_nothing_deployed_is_not_healthy(fleet_copy: Path, account: None, capsys) -> None:
    assert run(["status", CELL], fleet_copy) == 1
    assert f"no target groups or ECS services tagged myark:cell={CELL} in {CELL}" in capsys.readouterr().out


def test_unhealthy_targets_are_named() -> None:
    tg = status.TargetGroupHealth("api", "arn", 1, 2, ("10.32.1.11: unhealthy (Target.FailedHealthChecks)",))
    check = status.target_group_check(tg)
    assert not check.ok
    assert check.detail == "1/2 targets healthy; 10.32.1.11: unhealthy (Target.FailedHealthChecks)"
    assert not status.service_check(status.ServiceCount("c/api", "arn", 0, 0)).ok  # scaled to zero


def test_unknown_stack_is_bad_input(fleet_copy: Path, capsys) -> None:
    assert run(["status", "mars-1"], fleet_copy) == 2
    assert "unknown stack 'mars-1'" in capsys.readouterr().err


def fail_on(monkeypatch: pytest.MonkeyPatch, operation: str, error: Exception) -> None:
    real = botocore.client.BaseClient._make_api_call

    def fake(self, operation_name: str, params: dict[str, Any]):
        if operation_name == operation:
            raise error
        return real(self, operation_name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", fake)


@pytest.mark.parametrize(
    ("operation", "error", "expected"),
    [
        (
            "DescribeTargetHealth",
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeTargetHealth"),
            "elbv2:DescribeTargetHealth in eu-central-1 was denied (AccessDenied: no). Check that the IAM "
            "policy of your credentials allows elasticloadbalancing:DescribeTargetHealth",
        ),
        (
            "DescribeAlarms",
            ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeAlarms"),
            "cloudwatch:DescribeAlarms in eu-central-1 was throttled by AWS after retries",
        ),
        ("ListClusters", NoCredentialsError(), "ecs:ListClusters in eu-central-1: no usable AWS credentials"),
    ],
    ids=["denied", "throttled", "no-credentials"],
)
def test_aws_errors_become_one_clear_message(
    fleet_copy: Path, account: None, monkeypatch, capsys, operation, error, expected
) -> None:
    target_group(f"{CELL}-api", targets=1)
    fail_on(monkeypatch, operation, error)
    assert run(["status", CELL], fleet_copy) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""
