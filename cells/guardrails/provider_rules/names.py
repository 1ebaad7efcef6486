"""Names and ids: what each service receives, after autonaming, fits its length and character set."""

from __future__ import annotations

import re
from collections.abc import Iterator

from cells.guardrails.provider_rules.name_limits import (
    AUTONAME_SOURCE,
    AWS_NAMES,
    GCP_NAMES,
    NameSpec,
    planned_name,
)
from cells.guardrails.provider_rules.registry import Violation, cell_name, origin_of, rule
from cells.offline.plan import Plan


def _name_violations(plan: Plan, table: dict[str, NameSpec], rule_id: str) -> Iterator[Violation]:
    for r in plan.resources:
        spec = table.get(r.type)
        if spec is None:
            continue
        found = planned_name(r, spec)
        if found is None:
            continue
        value, how = found
        ok = spec.min_len <= len(value) <= spec.max_len and re.fullmatch(spec.pattern, value)
        if ok:
            continue
        if how == "autoname":
            origin = (
                f"the engine's autoname: logical name {r.name!r} ({len(r.name)} chars) + '-' + 7 random "
                f"characters = {len(value)} chars"
            )
            cell = cell_name(plan)
            if cell and cell in r.name:
                origin += f"; the logical name comes from myark:cell.name {cell!r}"
        else:
            origin = origin_of(r, spec.field, value, plan)
        yield Violation(
            rule_id,
            r.urn,
            f"{spec.field}={value!r} ({len(value)} chars)",
            f"{spec.why} ({spec.source})",
            origin,
        )


@rule(
    "aws-name-length",
    "AWS (ELB, IAM, S3, EventBridge, CloudWatch, WAF, CloudFront, ECS, DynamoDB, KMS, Cognito, Organizations)",
    "Each resource's name, after pulumi-aws autonaming (logical name + '-' + 7 random characters), fits "
    "the service's length and character set.",
    AUTONAME_SOURCE,
)
def _aws_names(plan: Plan) -> Iterator[Violation]:
    yield from _name_violations(plan, AWS_NAMES, "aws-name-length")


@rule(
    "gcp-id-format",
    "GCP (IAM federation, service accounts, Cloud KMS, BigQuery, Firestore)",
    "Resource ids the program sets (pool and provider ids, account ids, key rings, datasets, databases) "
    "fit the service's length and character set.",
    "https://cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds",
)
def _gcp_names(plan: Plan) -> Iterator[Violation]:
    yield from _name_violations(plan, GCP_NAMES, "gcp-id-format")
