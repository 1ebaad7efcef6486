"""Cells you can watch: every alarm notifies the cell's encrypted topic, p99 latency is alarmed, each
cell has a dashboard and a health canary in its region, the fleet dashboard has a row per cell, and
the policy pack refuses an alarm that notifies nobody."""

from __future__ import annotations

import json

import pytest
from policy_support import one, run

from cells.core.observability import ALARM_SUFFIXES, FLEET_DASHBOARD_NAME, canary_name
from cells.guardrails.policies.observability import ALARM_ACTIONS
from cells.guardrails.policies.pack import ALL_POLICIES
from cells.guardrails.policies.registry import MANDATORY
from cells.guardrails.policies.resource_types import COMPOSITE_ALARM, METRIC_ALARM

CELLS = {"eu-central-1": "eu-central-1", "us-east-1": "us-east-1"}  # the project's cells: name -> region


@pytest.mark.parametrize("stack", sorted(CELLS))
def test_every_alarm_notifies_the_cells_encrypted_topic(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    (topic,) = plan.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{stack}:")
    (key,) = [
        k for k in plan.of_type("aws:kms/key:Key") if k.outputs.get("arn") == topic.inputs["kmsMasterKeyId"]
    ]
    alarms = plan.of_type(METRIC_ALARM)
    assert sorted(a.inputs["name"] for a in alarms) == sorted(f"{stack}-{s}" for s in ALARM_SUFFIXES)
    topic_arn = plan.outputs["alarmTopicArn"]
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic_arn] and alarm.inputs["okActions"] == [topic_arn]
    # CloudWatch can publish to a KMS-encrypted topic only if the key lets it use the key.
    policy = json.loads(key.inputs["policy"])
    grant = next(s for s in policy["Statement"] if s.get("Sid") == "CloudWatchAlarmsToTheCellTopic")
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grant["Action"])


def test_p99_latency_and_a_dead_canary_are_alarms(plan_of) -> None:
    alarms = {a.inputs["name"]: a.inputs for a in plan_of("eu-central-1").of_type(METRIC_ALARM)}
    p99 = alarms["eu-central-1-api-p99-latency"]
    assert p99["extendedStatistic"] == "p99" and "statistic" not in p99
    assert p99["metricName"] == "TargetResponseTime" and p99["threshold"] == 1.5
    canary = alarms["eu-central-1-canary"]
    assert canary["dimensions"] == {"CanaryName": "eu-central-1-health"}
    assert canary["treatMissingData"] == "breaching"  # a canary that stopped running is an alarm


@pytest.mark.parametrize("stack", sorted(CELLS))
def test_each_cell_has_a_health_canary_in_its_region_with_private_encrypted_artifacts(
    plan_of, stack: str
) -> None:
    plan = plan_of(stack)
    (canary,) = plan.of_type("aws:synthetics/canary:Canary")
    assert canary.region == CELLS[stack] and canary.inputs["name"] == canary_name(stack)
    assert (
        canary.inputs["runConfig"]["environmentVariables"]["HEALTH_URL"]
        == f"https://{stack}.api.myark.io/healthz"
    )
    assert canary.inputs["artifactConfig"]["s3Encryption"]["encryptionMode"] == "SSE_KMS"
    bucket_name = canary.inputs["s3Bucket"]
    assert canary.inputs["artifactS3Location"] == f"s3://{bucket_name}/runs/"
    (bucket,) = [b for b in plan.of_type("aws:s3/bucket:Bucket") if b.name.endswith("-canary-artifacts")]
    assert bucket.protect and bucket.retain_on_delete and bucket.region == CELLS[stack]
    children = {r.type for r in plan.resources if r.parent == bucket.parent}
    assert {
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
    } <= children
    assert plan.outputs["healthCanary"] == canary_name(stack)


def test_each_cell_has_a_dashboard_and_the_release_outputs(plan_of) -> None:
    plan = plan_of("eu-central-1")
    (dashboard,) = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "API p99 response time (s)" in titles and "Health canary success %" in titles
    assert all(w["properties"].get("region", "eu-central-1") == "eu-central-1" for w in body["widgets"])
    assert plan.outputs["apiTaskDefinitionArn"].startswith("arn:aws:ecs:eu-central-1:")
    assert plan.outputs["apiImage"].startswith("public.ecr.aws/myark/api:")


def test_the_fleet_dashboard_has_one_row_per_cell(plan_of) -> None:
    plan = plan_of("global")
    (dashboard,) = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == FLEET_DASHBOARD_NAME
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    rows: dict[int, list[dict]] = {}
    for w in widgets:
        rows.setdefault(w["y"], []).append(w)
    assert len(rows) == len(plan.outputs["cells"]) == len(CELLS)
    for cell, region in CELLS.items():
        (row,) = [r for r in rows.values() if any(cell in json.dumps(w) for w in r if w["type"] == "text")]
        (alarms,) = [w for w in row if w["type"] == "alarm"]
        assert alarms["properties"]["alarms"] == [
            f"arn:aws:cloudwatch:{region}:123456789012:alarm:{cell}-{s}" for s in ALARM_SUFFIXES
        ]
        (canary,) = [w for w in row if w["type"] == "metric"]
        assert canary["properties"]["region"] == region
        assert canary["properties"]["metrics"] == [
            ["CloudWatchSynthetics", "SuccessPercent", "CanaryName", canary_name(cell)]
        ]


# ---- the policy rule ------------------------------------------------------------------------------


def test_an_alarm_that_notifies_nobody_is_refused() -> None:
    topic = ["arn:aws:sns:eu-central-1:123456789012:eu-central-1-alarms"]
    assert run(ALARM_ACTIONS, METRIC_ALARM, {"alarmActions": topic}) == []
    assert "notifies nobody" in one(ALARM_ACTIONS, METRIC_ALARM, {})
    assert "notifies nobody" in one(ALARM_ACTIONS, METRIC_ALARM, {"alarmActions": []})
    assert "actionsEnabled=false" in one(
        ALARM_ACTIONS, COMPOSITE_ALARM, {"alarmActions": topic, "actionsEnabled": False}
    )
    assert run(ALARM_ACTIONS, "aws:sns/topic:Topic", {}) == []
    assert ALARM_ACTIONS in ALL_POLICIES and ALARM_ACTIONS.enforcement_level == MANDATORY
