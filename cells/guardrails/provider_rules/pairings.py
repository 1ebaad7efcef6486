"""Locations and pairings: a value that is only valid together with another resource's (a CMEK key's
location and its data's, an alias target and health evaluation, a key policy and the services that
use the key, a log bucket's policy and the load balancer writing to it)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from cells.core.regions import CLOUDFRONT_ZONE_ID, elb_log_principal
from cells.guardrails.provider_rules.registry import Violation, get_path, rule
from cells.offline.plan import Plan, PlannedResource

ELB_LOGS_SOURCE = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"
)


# Cloud KMS multi-region and dual-region locations; regional ones are GCP region names.
KMS_MULTI_LOCATIONS = frozenset({"global", "asia", "europe", "us", "asia1", "eur4", "nam4"})
# Data location -> the Cloud KMS location its CMEK key must live in (multi-regions map to the
# matching KMS multi-region; a region to itself).
CMEK_LOCATION = {"US": "us", "EU": "europe", "us": "us", "eu": "europe", "nam5": "us", "eur3": "europe"}


def cmek_location_for(data_location: str) -> str:
    return CMEK_LOCATION.get(data_location, data_location.lower())


def _kms_location(key_name: Any) -> str | None:
    if isinstance(key_name, str) and "/locations/" in key_name:
        return key_name.split("/locations/")[1].split("/")[0]
    return None


@rule(
    "gcp-kms-location",
    "Cloud KMS",
    "A key ring's location is a Cloud KMS location (a region, or one of the multi- and dual-regions "
    "global, asia, europe, us, asia1, eur4, nam4); Cloud KMS has no 'eu'.",
    "https://cloud.google.com/kms/docs/locations",
)
def _kms_locations(plan: Plan) -> Iterator[Violation]:
    for r in plan.of_type("gcp:kms/keyRing:KeyRing"):
        loc = r.inputs.get("location")
        if isinstance(loc, str) and (loc in KMS_MULTI_LOCATIONS or re.fullmatch(r"[a-z]+-[a-z]+\d+", loc)):
            continue
        yield Violation(
            "gcp-kms-location",
            r.urn,
            f"location={loc!r}",
            "a Cloud KMS location: a region (europe-west3) or global, asia, europe, us, asia1, eur4, nam4",
            "derived from the cell's region facts (cells/core/regions.py kms_location_for)",
        )


@rule(
    "gcp-cmek-location",
    "BigQuery, Firestore (CMEK)",
    "A customer-managed key lives in the Cloud KMS location that matches its data: a regional store's "
    "region, and for multi-regions US/nam5 -> us, EU/eur3 -> europe.",
    "https://cloud.google.com/bigquery/docs/customer-managed-encryption#supported_locations",
)
def _cmek_locations(plan: Plan) -> Iterator[Violation]:
    uses: list[tuple[PlannedResource, Any, Any, str]] = []
    for r in plan.of_type("gcp:firestore/database:Database"):
        uses.append(
            (r, r.inputs.get("locationId"), get_path(r.inputs, "cmekConfig", "kmsKeyName"), "cmekConfig")
        )
    for r in plan.of_type("gcp:bigquery/dataset:Dataset"):
        key = get_path(r.inputs, "defaultEncryptionConfiguration", "kmsKeyName")
        uses.append((r, r.inputs.get("location"), key, "defaultEncryptionConfiguration"))
    for r in plan.of_type("gcp:bigquery/table:Table"):
        key = get_path(r.inputs, "encryptionConfiguration", "kmsKeyName")
        uses.append((r, r.region, key, "encryptionConfiguration"))
    for r, data_loc, key, field in uses:
        if not isinstance(data_loc, str) or key is None:
            continue
        key_loc = _kms_location(key)
        want = cmek_location_for(data_loc)
        if key_loc != want:
            yield Violation(
                "gcp-cmek-location",
                r.urn,
                f"data in {data_loc!r}, {field} key in {key_loc!r}",
                f"a key in Cloud KMS location {want!r} (the location matching {data_loc!r})",
                "the key ring location from cells/core/regions.py kms_location_for(myark:cell.region's data location)",
            )


@rule(
    "route53-alias-health",
    "Route 53",
    "An alias record that targets a CloudFront distribution sets EvaluateTargetHealth false.",
    "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html",
)
def _alias_health(plan: Plan) -> Iterator[Violation]:
    for r in plan.of_type("aws:route53/record:Record"):
        for alias in r.inputs.get("aliases") or []:
            if alias.get("zoneId") == CLOUDFRONT_ZONE_ID and alias.get("evaluateTargetHealth"):
                yield Violation(
                    "route53-alias-health",
                    r.urn,
                    f"{r.inputs.get('name')} -> {alias.get('name')} evaluateTargetHealth=true",
                    "evaluateTargetHealth false for CloudFront alias targets",
                    "cells/infra/components/edge/route53.py Route53Dns.point",
                )


# Services that use a customer-managed KMS key on the account's behalf, and the key-policy grant
# each needs (principal, actions).
KEY_USERS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "aws:cloudwatch/eventBus:EventBus": (
        "kmsKeyIdentifier",
        "events.amazonaws.com",
        ("kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"),
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html",
    ),
    "aws:cloudwatch/eventArchive:EventArchive": (
        "kmsKeyIdentifier",
        "events.amazonaws.com",
        ("kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"),
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html",
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        "kmsKeyId",
        "logs.{region}.amazonaws.com",
        # The documented statement also lists kms:Describe*, under the kms:EncryptionContext condition
        # that a DescribeKey request never carries: it grants nothing, so it is not required here.
        ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    ),
}


def _statements(policy: Any) -> list[dict]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return []
    if not isinstance(policy, dict):
        return []
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def grants(statements: Sequence[dict], principal: dict[str, str], action: str) -> bool:
    """True when an Allow statement names this principal (or *) and an action pattern covering it."""
    kind, who = next(iter(principal.items()))
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        p = s.get("Principal")
        named = p == "*" or (isinstance(p, dict) and who in _as_list(p.get(kind, [])))
        if named and any(fnmatch.fnmatchcase(action, a) for a in _as_list(s.get("Action", []))):
            return True
    return False


@rule(
    "kms-key-policy-users",
    "AWS KMS (EventBridge, CloudWatch Logs)",
    "A KMS key's policy lets each service that encrypts with it use it: EventBridge buses and archives "
    "(events.amazonaws.com; archives also kms:ReEncrypt*), CloudWatch log groups (logs.<region>.amazonaws.com).",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-key-policy.html",
)
def _key_users(plan: Plan) -> Iterator[Violation]:
    keys = {r.outputs.get("arn"): r for r in plan.of_type("aws:kms/key:Key")}
    for r in plan.resources:
        use = KEY_USERS.get(r.type)
        if use is None:
            continue
        field, principal, actions, source = use
        key = keys.get(r.inputs.get(field))
        if key is None:
            continue
        service = principal.format(region=r.region or "")
        missing = [
            a for a in actions if not grants(_statements(key.inputs.get("policy")), {"Service": service}, a)
        ]
        if missing:
            yield Violation(
                "kms-key-policy-users",
                r.urn,
                f"{field} -> {key.name}, whose policy does not grant {service} {', '.join(missing)}",
                f"a key policy statement allowing {service} {', '.join(actions)} ({source})",
                f"cells/infra/components/kms.py policy of {key.name}",
            )


@rule(
    "alb-log-delivery-principal",
    "Elastic Load Balancing",
    "The access-log bucket's policy lets the region's log writer put objects: the region's ELB account "
    "in regions available before August 2022, logdelivery.elasticloadbalancing.amazonaws.com after.",
    ELB_LOGS_SOURCE,
)
def _alb_logs(plan: Plan) -> Iterator[Violation]:
    buckets = {r.outputs.get("bucket"): r for r in plan.of_type("aws:s3/bucket:Bucket")}
    policies = {r.inputs.get("bucket"): r for r in plan.of_type("aws:s3/bucketPolicy:BucketPolicy")}
    for lb in plan.of_type("aws:lb/loadBalancer:LoadBalancer"):
        logs = lb.inputs.get("accessLogs") or {}
        if not logs.get("enabled"):
            continue
        bucket = buckets.get(logs.get("bucket"))
        policy = policies.get(bucket.outputs.get("id")) if bucket else None
        region = lb.region or ""
        principal = elb_log_principal(region)
        statements = _statements(policy.inputs.get("policy")) if policy else []
        if not grants(statements, principal, "s3:PutObject"):
            yield Violation(
                "alb-log-delivery-principal",
                lb.urn,
                f"access logs to bucket {logs.get('bucket')!r} in {region}",
                f"a bucket policy allowing {principal} s3:PutObject",
                "cells/infra/components/storage.py LogArchive bucket policy",
            )
