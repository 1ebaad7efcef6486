"""Live health of a cell on moto accounts: serving cells pass; missing targets or tasks, or alarms, fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from moto import mock_aws
from ops_support import client, fail_on, fake_credentials, run

from cells.core.observability import canary_name
from cells.ops import status

CELL = "eu-central-1"  # the project's eu cell: stack, cell name and region
TAGS = [{"Key": "myark:cell", "Value": CELL}, {"Key": "myark:residency", "Value": "eu"}]


# What moto cannot emulate is answered at the boto3 response level, in the APIs' shapes:
# - canary runs (moto keeps canaries but never runs them): DescribeCanariesLastRun from CANARY_RUNS;
# - ECS rollouts (moto fixes a deployment's rolloutState when the service is created and never moves
#   it): a service whose tasks all run has its deployment COMPLETED, as ECS reports it; ROLLOUTS replaces a
#   service's deployments to show a circuit-breaker rollback or a rollout in progress.
CANARY_RUNS: dict[str, dict[str, Any]] = {}
ROLLOUTS: dict[str, list[dict[str, Any]]] = {}


def answer_canary_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = botocore.client.BaseClient._make_api_call

    def fake(self, operation_name: str, params: dict[str, Any]):
        if operation_name == "DescribeCanariesLastRun":
            runs = [{"CanaryName": n, "LastRun": CANARY_RUNS[n]} for n in params["Names"] if n in CANARY_RUNS]
            return {"CanariesLastRun": runs}
        response = real(self, operation_name, params)
        if operation_name == "DescribeServices":
            for svc in response.get("services", []):
                for d in svc.get("deployments", []):
                    if svc["runningCount"] >= svc["desiredCount"] > 0:
                        d["rolloutState"] = "COMPLETED"
                        d["rolloutStateReason"] = f"ECS deployment {d['id']} completed."
                if svc["serviceName"] in ROLLOUTS:
                    svc["deployments"] = ROLLOUTS[svc["serviceName"]]
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", fake)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_credentials(monkeypatch, "us-east-1")
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING", raising=False)
    monkeypatch.setenv(
        "MOTO_EC2_LOAD_DEFAULT_AMIS", "false"
    )  # the VPC needs no AMIs; loading them costs seconds
    CANARY_RUNS.clear()
    ROLLOUTS.clear()
    answer_canary_runs(monkeypatch)
    with mock_aws():
        yield


def canary(cell: str = CELL, *, state: str = "PASSED", minutes_ago: float = 2, reason: str = "") -> str:
    """The cell's Synthetics canary (moto) and its last run (answered above)."""
    name = canary_name(cell)
    syn = client("synthetics", region_name=CELL)
    if not syn.describe_canaries(Names=[name])["Canaries"]:
        syn.create_canary(
            Name=name,
            Code={"Handler": "index.handler", "S3Bucket": f"{cell}-canary", "S3Key": "health.zip"},
            ArtifactS3Location=f"s3://{cell}-canary/runs",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/canary",
            Schedule={"Expression": "rate(5 minutes)"},
            RuntimeVersion="syn-nodejs-puppeteer-9.1",
        )
    done = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    CANARY_RUNS[name] = {
        "Name": "run",
        "Status": {"State": state, "StateReason": reason},
        "Timeline": {"Started": done - timedelta(seconds=20), "Completed": done},
    }
    return name


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
    canary()
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
        ("deployment", f"{CELL}/api", True),
        ("canary", canary_name(CELL), True),
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
        ("deployment", f"{CELL}/worker"),
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


# ---- the release gate: rollout, release, canary --------------------------------------------------

TASK_DEF = f"arn:aws:ecs:{CELL}:123456789012:task-definition/api:"


def deployment(revision: int, state: str, reason: str, status_: str = "PRIMARY") -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{revision}",
        "status": status_,
        "taskDefinition": f"{TASK_DEF}{revision}",
        "desiredCount": 2,
        "runningCount": 2,
        "rolloutState": state,
        "rolloutStateReason": reason,
    }


def test_a_circuit_breaker_rollback_fails_the_gate_though_every_task_runs(
    fleet_copy: Path, account: None, capsys
) -> None:
    serving_cell()
    ROLLOUTS["api"] = [
        deployment(1, "COMPLETED", "ECS deployment circuit breaker: rolling back to deployment ecs-svc/1."),
    ]
    assert run(["status", CELL, "--json", "-"], fleet_copy) == 1
    data = json.loads(capsys.readouterr().out)
    failing = {(c["kind"], c["name"]): c["detail"] for c in data["checks"] if not c["ok"]}
    assert set(failing) == {("deployment", f"{CELL}/api")}
    assert failing[("deployment", f"{CELL}/api")].startswith("rolled back by the circuit breaker")


def test_a_rollout_still_in_progress_fails_the_gate(fleet_copy: Path, account: None, capsys) -> None:
    serving_cell()
    ROLLOUTS["api"] = [
        deployment(2, "IN_PROGRESS", "ECS deployment ecs-svc/2 in progress."),
        deployment(1, "COMPLETED", "", status_="ACTIVE"),
    ]
    assert run(["status", CELL], fleet_copy) == 1
    assert "rollout IN_PROGRESS: ECS deployment ecs-svc/2 in progress." in capsys.readouterr().out


def test_the_api_must_run_the_task_definition_the_stack_deployed(
    fleet_copy: Path, account: None, capsys
) -> None:
    serving_cell()  # moto registered api:1 and runs it
    assert run(["status", CELL, "--expect-task-definition", f"{TASK_DEF}1"], fleet_copy) == 0
    assert "runs api:1 (the stack's)" in capsys.readouterr().out
    assert run(["status", CELL, "--expect-task-definition", f"{TASK_DEF}2"], fleet_copy) == 1
    assert "runs api:1, the stack deployed api:2: ECS rolled the release back" in capsys.readouterr().out
    other = f"arn:aws:ecs:{CELL}:123456789012:task-definition/worker:3"
    assert run(["status", CELL, "--expect-task-definition", other], fleet_copy) == 1
    assert "no service runs family worker" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("state", "minutes_ago", "expected"),
    [
        ("FAILED", 1, "last run FAILED: Navigation timeout of 10000 ms exceeded"),
        ("PASSED", 40, "last run passed but is stale"),
    ],
    ids=["failed", "stale"],
)
def test_the_canary_must_have_passed_recently(
    fleet_copy: Path, account: None, capsys, state: str, minutes_ago: float, expected: str
) -> None:
    serving_cell()
    canary(state=state, minutes_ago=minutes_ago, reason="Navigation timeout of 10000 ms exceeded")
    assert run(["status", CELL], fleet_copy) == 1
    assert expected in capsys.readouterr().out


def test_a_cell_without_its_canary_fails_the_gate(fleet_copy: Path, account: None, capsys) -> None:
    target_group(f"{CELL}-api", targets=2)
    service("api", desired=2, running=True)
    assert run(["status", CELL], fleet_copy) == 1
    assert "no such Synthetics canary in the cell's region" in capsys.readouterr().out


class FakeTime:
    """A clock that moves only when the bake sleeps; `at` runs actions when a minute is reached."""

    def __init__(self, at: dict[float, Any] | None = None) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.at = dict(at or {})

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for minute in sorted(self.at):
            if self.now >= minute * 60:
                self.at.pop(minute)()


def test_the_bake_reads_the_gate_every_minute_for_the_whole_bake(
    fleet_copy: Path, account: None, capsys
) -> None:
    serving_cell()
    t = FakeTime()
    assert run(["bake", CELL, "--minutes", "5"], fleet_copy, sleep=t.sleep, clock=t.clock) == 0
    assert t.sleeps == [60.0] * 5 and t.now == 300
    out = capsys.readouterr().out
    assert out.count(": healthy") == 6 and f"bake {CELL}: 6 healthy readings over 5 min" in out


def test_the_bake_fails_at_the_first_bad_reading(fleet_copy: Path, account: None, capsys) -> None:
    serving_cell()

    def roll_back() -> None:
        ROLLOUTS["api"] = [deployment(1, "COMPLETED", "ECS deployment circuit breaker: rolling back.")]

    t = FakeTime(at={3: roll_back})
    assert run(["bake", CELL, "--minutes", "30"], fleet_copy, sleep=t.sleep, clock=t.clock) == 1
    out = capsys.readouterr().out
    assert t.now == 180 and len(t.sleeps) == 3  # stopped at minute 3, not at minute 30
    assert (
        f"bake {CELL}: FAILED at reading 4 (3.0 min)" in out and "rolled back by the circuit breaker" in out
    )


def test_a_negative_bake_is_bad_input(fleet_copy: Path, capsys) -> None:
    assert run(["bake", CELL, "--minutes", "-1"], fleet_copy) == 2
    assert "the bake time must be 0 or more minutes" in capsys.readouterr().err


def test_canary_names_fit_synthetics_limits() -> None:
    assert canary_name("eu-central-1") == "eu-central-1-health"
    long = canary_name("eu-central-1-spare-two")
    assert len(long) <= 21 and long.endswith("-health") and long != canary_name("eu-central-1-spare-one")


def test_a_full_cell_shows_its_capacity_alarm_but_does_not_fail_the_release_gate() -> None:
    from cells.ops.status import Alarm, CellHealth, ServiceCount, checks

    def health(*alarms: str) -> CellHealth:
        return CellHealth(
            cell="eu-central-1",
            region="eu-central-1",
            services=(ServiceCount("eu-central-1-api", "arn:svc", 2, 2),),
            alarms=tuple(Alarm(a, f"arn:{a}", "Threshold Crossed") for a in alarms),
        )

    capacity = checks(health("eu-central-1-capacity"))
    assert [c.ok for c in capacity if c.kind == "alarm"] == [True]
    assert "load, not the release" in next(c.detail for c in capacity if c.kind == "alarm")
    errors = checks(health("eu-central-1-capacity", "eu-central-1-api-5xx"))
    assert [(c.name, c.ok) for c in errors if c.kind == "alarm"] == [
        ("eu-central-1-capacity", True),
        ("eu-central-1-api-5xx", False),
    ]
