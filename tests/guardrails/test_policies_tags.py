"""Tags: every taggable resource carries its stack's cell, region and residency."""

from __future__ import annotations

from policy_support import EU_LABELS, EU_TAGS, GLOBAL, one, run

from cells.guardrails.policies.resource_types import BIGQUERY_DATASET, S3_BUCKET
from cells.guardrails.policies.tags import REQUIRED_TAGS_POLICY

# --- tags -----------------------------------------------------------------------------------------


def test_tagged_resources_carry_the_cells_tags() -> None:
    assert run(REQUIRED_TAGS_POLICY, "aws:ec2/vpc:Vpc", {"tags": {**EU_TAGS, "Name": "vpc"}}) == []
    assert run(REQUIRED_TAGS_POLICY, BIGQUERY_DATASET, {"labels": EU_LABELS}) == []
    assert run(REQUIRED_TAGS_POLICY, "aws:ec2/route:Route", {}) == []  # not taggable: nothing to ask
    global_tags = {"myark:cell": "global", "myark:region": "us-east-1", "myark:residency": "global"}
    assert run(REQUIRED_TAGS_POLICY, "aws:sqs/queue:Queue", {"tags": global_tags}, stack_config=GLOBAL) == []


def test_missing_tags_are_stopped() -> None:
    message = one(REQUIRED_TAGS_POLICY, "aws:ec2/vpc:Vpc", {"tags": {"myark:cell": "eu-central-1"}})
    assert message.startswith("tags lack myark:region, myark:residency.")
    message = one(REQUIRED_TAGS_POLICY, BIGQUERY_DATASET, {"labels": {"myark-cell": "eu-central-1"}})
    assert message.startswith("labels lack myark-region, myark-residency.")


def test_tags_that_contradict_the_stack_are_stopped() -> None:
    # A wrong residency tag would also move the zone the residency rule holds the resource to.
    message = one(REQUIRED_TAGS_POLICY, S3_BUCKET, {"tags": {**EU_TAGS, "myark:residency": "us"}})
    assert message.startswith("tags disagree with the stack: myark:residency='us' (stack: 'eu').")
