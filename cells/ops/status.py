"""Live health of a cell: ALB targets, ECS tasks and CloudWatch alarms, in the cell's region.

The shell (`collect`) finds what is tagged `myark:cell=<cell>`; the core (`checks`) decides. A cell is
healthy when every tagged target group has all its registered targets healthy (and at least one),
every tagged ECS service runs its desired count (and wants at least one task), and no alarm of the
cell (named `<cell>-...` or tagged with it) is in ALARM. A cell with neither target groups nor
services is not healthy either: it serves nothing, or the credentials look at the wrong account.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cells.naming import TAG_CELL
from cells.ops.aws import Aws
from cells.ops.report import table


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


def checks(health: CellHealth) -> list[Check]:
    out = [target_group_check(tg) for tg in health.target_groups]
    out += [service_check(s) for s in health.services]
    out += [Check("alarm", a.name, False, f"in ALARM: {a.reason}") for a in health.alarms]
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


def assess(health: CellHealth) -> CellHealth:
    return CellHealth(
        cell=health.cell,
        region=health.region,
        target_groups=health.target_groups,
        services=health.services,
        alarms=health.alarms,
        checks=checks(health),
    )


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
                out.append(
                    ServiceCount(
                        name=f"{cluster_name}/{s['serviceName']}",
                        arn=s["serviceArn"],
                        running=s.get("runningCount", 0),
                        desired=s.get("desiredCount", 0),
                        pending=s.get("pendingCount", 0),
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


def run(aws: Aws, cell: str, region: str) -> CellHealth:
    return assess(
        CellHealth(
            cell=cell,
            region=region,
            target_groups=tuple(collect_target_groups(aws, cell, region)),
            services=tuple(collect_services(aws, cell, region)),
            alarms=tuple(collect_alarms(aws, cell, region)),
        )
    )
