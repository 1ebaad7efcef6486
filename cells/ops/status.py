"""Live health of a cell, the release gate: ALB targets, ECS tasks and deployment, alarms, canary.

The shell (`collect`) finds what is tagged `myark:cell=<cell>`; the core (`checks`) decides. A cell is
healthy when every tagged target group has all its registered targets healthy (and at least one),
every tagged ECS service runs its desired count (and wants at least one task) and its deployment has
finished (one PRIMARY deployment, rollout COMPLETED, not a circuit-breaker rollback), the API service
runs the task definition the stack deployed (when given: the stack output `apiTaskDefinitionArn`),
the cell's Synthetics canary (`<cell>-health`) passed its last run within `CANARY_FRESH_MINUTES`, and
no alarm of the cell (named `<cell>-...` or tagged with it) is in ALARM. A cell with neither target
groups nor services is not healthy either: it serves nothing, or the credentials look at the wrong
account.

`bake` polls that gate every `interval` seconds for the whole bake time and fails at the first bad
reading (a sleep and one check would miss a rollback in the middle of the bake).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cells.core.naming import TAG_CELL
from cells.core.observability import NOT_RELEASE_ALARM_SUFFIXES, canary_name
from cells.ops.aws import Aws
from cells.ops.report import table

CANARY_FRESH_MINUTES = 15  # the canary runs every 5 minutes: three missed runs is a dead canary
ROLLBACK_WORDS = ("rolled back", "rollback", "circuit breaker")


@dataclass(frozen=True)
class TargetGroupHealth:
    name: str
    arn: str
    healthy: int
    total: int
    unhealthy_reasons: tuple[str, ...] = ()  # e.g. "10.32.1.7: unhealthy (Target.FailedHealthChecks)"


@dataclass(frozen=True)
class ServiceCount:
    name: str  # cluster/service
    arn: str
    running: int
    desired: int
    pending: int = 0
    rollout: str = "COMPLETED"  # the PRIMARY deployment's rolloutState
    rollout_reason: str = ""
    task_definition: str = ""  # the PRIMARY deployment's task definition ARN
    deployments: int = 1
    failed_deployments: int = 0


@dataclass(frozen=True)
class CanaryRun:
    name: str
    found: bool
    state: str = ""  # PASSED | FAILED | RUNNING | "" (never ran)
    reason: str = ""
    completed: datetime | None = None


@dataclass(frozen=True)
class Alarm:
    name: str
    arn: str
    reason: str


@dataclass(frozen=True)
class Check:
    kind: str  # target-group | ecs-service | alarm | cell
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CellHealth:
    cell: str
    region: str
    target_groups: tuple[TargetGroupHealth, ...] = ()
    services: tuple[ServiceCount, ...] = ()
    alarms: tuple[Alarm, ...] = ()  # only alarms in ALARM
    canary: CanaryRun | None = None
    expected_task_definition: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)


# ---- the core -----------------------------------------------------------------------------------


def target_group_check(tg: TargetGroupHealth) -> Check:
    if tg.total == 0:
        return Check(
            "target-group", tg.name, False, "no registered targets: the load balancer has nowhere to send"
        )
    detail = f"{tg.healthy}/{tg.total} targets healthy"
    if tg.unhealthy_reasons:
        detail += f"; {', '.join(tg.unhealthy_reasons)}"
    return Check("target-group", tg.name, tg.healthy == tg.total, detail)


def service_check(svc: ServiceCount) -> Check:
    if svc.desired == 0:
        return Check("ecs-service", svc.name, False, "desired count is 0: the service is scaled to zero")
    detail = f"{svc.running}/{svc.desired} tasks running"
    if svc.pending:
        detail += f" ({svc.pending} pending)"
    return Check("ecs-service", svc.name, svc.running >= svc.desired, detail)


def deployment_check(svc: ServiceCount) -> Check:
    """The service's last deployment finished, and it is not ECS's circuit breaker rolling one back."""
    reason = f": {svc.rollout_reason}" if svc.rollout_reason else ""
    if any(word in svc.rollout_reason.lower() for word in ROLLBACK_WORDS) or svc.failed_deployments:
        return Check("deployment", svc.name, False, f"rolled back by the circuit breaker{reason}")
    if svc.rollout != "COMPLETED":
        return Check("deployment", svc.name, False, f"rollout {svc.rollout or 'unknown'}{reason}")
    if svc.deployments != 1:
        return Check("deployment", svc.name, False, f"{svc.deployments} deployments: one is still draining")
    return Check("deployment", svc.name, True, f"rollout COMPLETED{reason}")


def _family(task_definition: str) -> str:
    """`arn:...:task-definition/api:7` -> `api`."""
    return task_definition.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def release_check(expected: str, services: Sequence[ServiceCount]) -> Check:
    """The service of the expected task definition's family runs exactly that revision."""
    mine = [s for s in services if _family(s.task_definition) == _family(expected)]
    if not mine:
        running = ", ".join(f"{s.name}: {s.task_definition}" for s in services) or "no service"
        return Check(
            "release", _family(expected), False, f"no service runs family {_family(expected)} ({running})"
        )
    wrong = [s for s in mine if s.task_definition != expected]
    if wrong:
        s = wrong[0]
        return Check(
            "release",
            s.name,
            False,
            f"runs {s.task_definition.rsplit('/', 1)[-1]}, the stack deployed {expected.rsplit('/', 1)[-1]}: "
            "ECS rolled the release back, or something deployed outside the stack",
        )
    return Check("release", mine[0].name, True, f"runs {expected.rsplit('/', 1)[-1]} (the stack's)")


def canary_check(run: CanaryRun, now: datetime) -> Check:
    if not run.found:
        return Check(
            "canary",
            run.name,
            False,
            "no such Synthetics canary in the cell's region: the cell stack creates it",
        )
    if not run.state:
        return Check("canary", run.name, False, "the canary has not run yet")
    if run.state != "PASSED":
        return Check(
            "canary", run.name, False, f"last run {run.state}" + (f": {run.reason}" if run.reason else "")
        )
    if run.completed is None or now - run.completed > timedelta(minutes=CANARY_FRESH_MINUTES):
        when = run.completed.isoformat(timespec="seconds") if run.completed else "never"
        return Check(
            "canary",
            run.name,
            False,
            f"last run passed but is stale (completed {when}; older than {CANARY_FRESH_MINUTES} min)",
        )
    return Check(
        "canary", run.name, True, f"last run PASSED at {run.completed.isoformat(timespec='seconds')}"
    )


def checks(health: CellHealth, now: datetime | None = None) -> list[Check]:
    out = [target_group_check(tg) for tg in health.target_groups]
    out += [service_check(s) for s in health.services]
    out += [deployment_check(s) for s in health.services]
    if health.expected_task_definition:
        out.append(release_check(health.expected_task_definition, health.services))
    if health.canary is not None:
        out.append(canary_check(health.canary, now or datetime.now(UTC)))
    load_alarms = {f"{health.cell}-{s}" for s in NOT_RELEASE_ALARM_SUFFIXES}
    out += [
        Check("alarm", a.name, True, f"in ALARM (load, not the release: see cells rebalance): {a.reason}")
        if a.name in load_alarms
        else Check("alarm", a.name, False, f"in ALARM: {a.reason}")
        for a in health.alarms
    ]
    if not health.target_groups and not health.services:
        out.append(
            Check(
                "cell",
                health.cell,
                False,
                f"no target groups or ECS services tagged {TAG_CELL}={health.cell} in {health.region}: "
                "the cell is not deployed there, or these credentials see another account",
            )
        )
    return out


def assess(health: CellHealth, now: datetime | None = None) -> CellHealth:
    return replace(health, checks=checks(health, now))


def render(health: CellHealth) -> str:
    verdict = "healthy" if health.healthy else "UNHEALTHY"
    rows = [(c.kind, c.name, "ok" if c.ok else "FAIL", c.detail) for c in health.checks]
    return "\n".join(
        [
            f"Health of cell {health.cell} in {health.region}: {verdict}",
            "",
            table(("CHECK", "NAME", "STATE", "DETAIL"), rows),
        ]
    )


def to_json(health: CellHealth) -> dict[str, Any]:
    return {
        "cell": health.cell,
        "region": health.region,
        "healthy": health.healthy,
        "checks": [asdict(c) for c in health.checks],
    }


# ---- the shell ----------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def collect_target_groups(aws: Aws, cell: str, region: str) -> list[TargetGroupHealth]:
    groups = {
        tg["TargetGroupArn"]: tg["TargetGroupName"]
        for page in aws.pages("elbv2", region, "describe_target_groups")
        for tg in page.get("TargetGroups", [])
    }
    mine: list[str] = []
    for chunk in _chunks(list(groups), 20):  # DescribeTags takes at most 20 ARNs
        for desc in aws.call("elbv2", region, "describe_tags", ResourceArns=list(chunk))["TagDescriptions"]:
            if {t["Key"]: t["Value"] for t in desc.get("Tags", [])}.get(TAG_CELL) == cell:
                mine.append(desc["ResourceArn"])
    out = []
    for arn in mine:
        targets = aws.call("elbv2", region, "describe_target_health", TargetGroupArn=arn)[
            "TargetHealthDescriptions"
        ]
        states = [(t["Target"]["Id"], t.get("TargetHealth", {})) for t in targets]
        reasons = tuple(
            f"{tid}: {h.get('State', 'unknown')}" + (f" ({h['Reason']})" if h.get("Reason") else "")
            for tid, h in states
            if h.get("State") != "healthy"
        )
        healthy = sum(1 for _, h in states if h.get("State") == "healthy")
        out.append(TargetGroupHealth(groups[arn], arn, healthy, len(states), reasons))
    return out


def collect_services(aws: Aws, cell: str, region: str) -> list[ServiceCount]:
    out = []
    clusters = [
        arn for page in aws.pages("ecs", region, "list_clusters") for arn in page.get("clusterArns", [])
    ]
    for cluster in clusters:
        arns = [
            a
            for page in aws.pages("ecs", region, "list_services", cluster=cluster)
            for a in page["serviceArns"]
        ]
        for chunk in _chunks(arns, 10):  # DescribeServices takes at most 10 services
            response = aws.call(
                "ecs", region, "describe_services", cluster=cluster, services=list(chunk), include=["TAGS"]
            )
            for s in response.get("services", []):
                if {t["key"]: t["value"] for t in s.get("tags", [])}.get(TAG_CELL) != cell:
                    continue
                cluster_name = cluster.rsplit("/", 1)[-1]
                deployments = s.get("deployments", [])
                primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
                out.append(
                    ServiceCount(
                        name=f"{cluster_name}/{s['serviceName']}",
                        arn=s["serviceArn"],
                        running=s.get("runningCount", 0),
                        desired=s.get("desiredCount", 0),
                        pending=s.get("pendingCount", 0),
                        rollout=primary.get("rolloutState", ""),
                        rollout_reason=primary.get("rolloutStateReason", ""),
                        task_definition=primary.get("taskDefinition", s.get("taskDefinition", "")),
                        deployments=len(deployments),
                        failed_deployments=sum(1 for d in deployments if d.get("rolloutState") == "FAILED"),
                    )
                )
    return out


def collect_alarms(aws: Aws, cell: str, region: str) -> list[Alarm]:
    out = []
    pages = aws.pages(
        "cloudwatch",
        region,
        "describe_alarms",
        StateValue="ALARM",
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
    )
    for page in pages:
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            name, arn = alarm["AlarmName"], alarm["AlarmArn"]
            if not name.startswith(f"{cell}-"):
                tags = aws.call("cloudwatch", region, "list_tags_for_resource", ResourceARN=arn).get(
                    "Tags", []
                )
                if {t["Key"]: t["Value"] for t in tags}.get(TAG_CELL) != cell:
                    continue
            out.append(Alarm(name, arn, alarm.get("StateReason", "")))
    return out


def collect_canary(aws: Aws, cell: str, region: str) -> CanaryRun:
    name = canary_name(cell)
    found = aws.call("synthetics", region, "describe_canaries", Names=[name]).get("Canaries", [])
    if not found:
        return CanaryRun(name, found=False)
    runs = aws.call("synthetics", region, "describe_canaries_last_run", Names=[name]).get(
        "CanariesLastRun", []
    )
    last = (runs[0].get("LastRun") or {}) if runs else {}
    status = last.get("Status") or {}
    completed = (last.get("Timeline") or {}).get("Completed")
    return CanaryRun(
        name,
        found=True,
        state=status.get("State", ""),
        reason=status.get("StateReason", ""),
        completed=completed if isinstance(completed, datetime) else None,
    )


def run(aws: Aws, cell: str, region: str, expected_task_definition: str = "") -> CellHealth:
    return assess(
        CellHealth(
            cell=cell,
            region=region,
            target_groups=tuple(collect_target_groups(aws, cell, region)),
            services=tuple(collect_services(aws, cell, region)),
            alarms=tuple(collect_alarms(aws, cell, region)),
            canary=collect_canary(aws, cell, region),
            expected_task_definition=expected_task_definition,
        )
    )


# ---- the bake: the gate, polled ------------------------------------------------------------------


@dataclass(frozen=True)
class BakeResult:
    readings: int
    last: CellHealth
    elapsed: float

    @property
    def passed(self) -> bool:
        return self.last.healthy


def bake(
    read: Callable[[], CellHealth],
    minutes: float,
    interval: float = 60.0,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    report: Callable[[int, float, CellHealth], None] = lambda n, t, h: None,
) -> BakeResult:
    """Read the gate now and every `interval` seconds until `minutes` have passed (a last reading at the
    end); stop at the first unhealthy reading."""
    start = clock()
    end = start + minutes * 60
    readings = 0
    while True:
        health = read()
        readings += 1
        report(readings, clock() - start, health)
        if not health.healthy:
            return BakeResult(readings, health, clock() - start)
        left = end - clock()
        if left <= 0:
            return BakeResult(readings, health, clock() - start)
        sleep(min(interval, left))
