"""The offline world: the same policies over recorded plans (the real stacks pass, a broken program
is stopped, the policy config is honoured like the engine's).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from policy_support import EU, EU_LABELS

from cells.guardrails.policies.pack import POLICIES_BY_NAME
from cells.guardrails.policies.plan_check import check_plan
from cells.guardrails.policies.resource_types import BIGQUERY_DATASET, SQS_QUEUE
from cells.offline.plan import Plan, PlannedResource, record_plan

# --- the offline world: recorded plans --------------------------------------------------------------


@pytest.mark.parametrize("stack", ["global", "eu-central-1", "us-east-1"])
def test_the_real_stacks_pass_every_policy(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    assert len(list(plan.cloud_resources())) > 10  # the rules met real resources
    assert check_plan(plan) == []


def _broken_program() -> None:
    provider = aws.Provider("aws", region="eu-central-1")
    opts = pulumi.ResourceOptions(provider=provider)
    bucket = aws.s3.Bucket("stray", region="us-east-1", opts=opts)
    aws.s3.BucketPublicAccessBlock(
        "stray-public-access",
        bucket=bucket.id,
        block_public_acls=False,
        block_public_policy=False,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketPolicy(
        "stray-policy",
        bucket=bucket.id,
        opts=opts,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                ],
            }
        ),
    )
    aws.ec2.SecurityGroup(
        "ssh",
        description="SSH from anywhere",
        opts=opts,
        ingress=[
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]},
        ],
    )


@pytest.fixture(scope="module")
def broken() -> list[dict[str, str]]:
    return check_plan(record_plan("eu-central-1", program=_broken_program, stack_outputs={}))


@pytest.mark.parametrize(
    ("policy", "name", "text"),
    [
        pytest.param(
            "residency-zone",
            "stray",
            "aws:s3/bucket:Bucket is in us-east-1, outside residency zone 'eu'",
            id="bucket-in-us-east-1",
        ),
        pytest.param(
            "s3-public-access-block",
            "stray-public-access",
            "public access is not fully blocked: blockPublicAcls, blockPublicPolicy not true.",
            id="public-access-block-off",
        ),
        pytest.param(
            "s3-bucket-policy-not-public",
            "stray-policy",
            "bucket policy statement allows anyone (Principal *) without a Condition.",
            id="public-policy",
        ),
        pytest.param(
            "security-group-world-ingress", "ssh", "ingress from 0.0.0.0/0 on port 22;", id="ssh-open"
        ),
        pytest.param(
            "stateful-protect", "stray", "a stateful resource is not protected", id="unprotected-bucket"
        ),
        pytest.param(
            "s3-bucket-guards-present",
            "stray",
            "the bucket has no BucketServerSideEncryptionConfiguration",
            id="unencrypted-bucket",
        ),
    ],
)
def test_a_broken_program_is_stopped(broken, policy: str, name: str, text: str) -> None:
    hits = [v for v in broken if v["policy"] == policy and v["urn"].endswith(f"::{name}")]
    assert len(hits) == 1, broken
    assert hits[0]["level"] == "mandatory"
    assert hits[0]["message"].startswith(text)
    assert hits[0]["message"].endswith(f"Remediation: {POLICIES_BY_NAME[policy].remediation_steps}")


def _planned(
    type_: str, name: str, inputs: dict, region: str | None = "eu-central-1", protect: bool = False
) -> PlannedResource:
    urn = f"urn:pulumi:eu-central-1::myark-cells::{type_}::{name}"
    return PlannedResource(
        urn=urn,
        type=type_,
        name=name,
        parent=None,
        provider=None,
        region=region,
        protect=protect,
        retain_on_delete=protect,
        inputs=inputs,
        custom=True,
    )


def test_check_plan_honours_policy_config_like_the_engine() -> None:
    dataset = _planned(BIGQUERY_DATASET, "analytics", {"location": "EU", "labels": EU_LABELS}, protect=True)
    plan = Plan(project="myark-cells", stack="eu-central-1", resources=[dataset], outputs={})
    assert [v["policy"] for v in check_plan(plan, stack_config=EU)] == ["gcp-cmek-recommended"]
    required = check_plan(plan, stack_config=EU, policy_config={"gcp-cmek-required": {"requireCmek": True}})
    # Each policy sees only its own config (as in a real run): the advice stays beside the requirement.
    assert sorted((v["policy"], v["level"]) for v in required) == [
        ("gcp-cmek-recommended", "advisory"),
        ("gcp-cmek-required", "mandatory"),
    ]
    quiet = check_plan(plan, stack_config=EU, policy_config={"gcp-cmek-recommended": "disabled"})
    assert quiet == []
    lowered = {"gcp-cmek-required": {"requireCmek": True, "enforcementLevel": "advisory"}}
    assert {v["level"] for v in check_plan(plan, stack_config=EU, policy_config=lowered)} == {"advisory"}


def test_check_plan_skips_components_and_providers_and_uses_the_plans_region() -> None:
    component = PlannedResource(
        urn="urn:c",
        type="myark:storage:SecureBucket",
        name="c",
        parent=None,
        provider=None,
        region=None,
        protect=False,
        retain_on_delete=False,
        inputs={},
        custom=False,
    )
    provider = _planned("pulumi:providers:aws", "aws", {"region": "us-east-1"}, region="us-east-1")
    queue = _planned(SQS_QUEUE, "q", {"sqsManagedSseEnabled": True}, region="us-west-2")
    found = check_plan(
        Plan(project="myark-cells", stack="eu-central-1", resources=[component, provider, queue], outputs={}),
        stack_config=EU,
    )
    assert [(v["policy"], v["urn"]) for v in found] == [("residency-zone", queue.urn)]
    assert "is in us-west-2" in found[0]["message"]
