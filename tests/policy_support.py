"""Shared helpers of the policy tests: stack configs, and the engine's way of calling a policy.

Rules are called exactly as the engine calls them (`policy.validate(args, report_violation)`, props
behind pulumi_policy's unknown-checking proxy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cells.guardrails.policies.plan_check import make_args, make_policy_resource, make_stack_args
from cells.guardrails.policies.resource_types import S3_BUCKET

EU = {
    "myark:kind": "cell",
    "myark:domain": "myark.io",
    "myark:cell": {"name": "eu-central-1", "region": "eu-central-1"},
}
US_WITH_TENANT = {
    "myark:kind": "cell",
    "myark:domain": "myark.io",
    "myark:cell": {
        "name": "us-east-1",
        "region": "us-east-1",
        "shards": {
            "tenants": {"acme-insurance": {"physical": "tenant-acme-insurance", "dedicatedKmsKey": True}}
        },
    },
}
GLOBAL = {"myark:kind": "global", "myark:domain": "myark.io", "myark:global": {"region": "us-east-1"}}
EU_TAGS = {"myark:cell": "eu-central-1", "myark:region": "eu-central-1", "myark:residency": "eu"}
EU_LABELS = {"myark-cell": "eu-central-1", "myark-region": "eu-central-1", "myark-residency": "eu"}
LB_URN = (
    "urn:pulumi:eu-central-1::myark-cells::myark:cell:Cell$myark:network:LoadBalancer${}::eu-central-1-{}"
)
API_URN = "urn:pulumi:eu-central-1::myark-cells::myark:cell:Cell$myark:compute:ApiService${}::eu-central-1-{}"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def run(policy, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """The messages `policy` reports for one resource of an EU cell (unless told otherwise)."""
    kwargs.setdefault("stack_config", EU)
    kwargs.setdefault("provider_props", {"region": "eu-central-1"})
    found: list[str] = []
    policy.validate(make_args(type_, props, **kwargs), lambda message, urn=None: found.append(message))
    for message in found:
        assert message.endswith(f" Remediation: {policy.remediation_steps}"), message
    return found


def one(policy, type_: str, props: Mapping[str, Any], **kwargs: Any) -> str:
    found = run(policy, type_, props, **kwargs)
    assert len(found) == 1, found
    return found[0]


def run_stack(policy, resources, stack_config=EU) -> list[tuple[str | None, str]]:
    found: list[tuple[str | None, str]] = []
    policy.validate(
        make_stack_args(resources, stack_config=stack_config),
        lambda message, urn=None: found.append((urn, message)),
    )
    return found


def stack_bucket(name: str, region: str, **props: Any):
    return make_policy_resource(
        S3_BUCKET,
        {"bucket": name, "arn": f"arn:aws:s3:::{name}", "region": region, **props},
        name=name,
        urn=f"urn:b::{name}",
    )
