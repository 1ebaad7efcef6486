"""The providers' own rules: what each service documents about the values it accepts.

The policy pack (`cells/guardrails/policies.py`) encodes OUR rules (residency, encryption, exposure). This
module encodes THEIRS: name lengths and character sets after the engine's autonaming, valid
locations and enumerations, pairings between resources (a CMEK key's location and its data's, an
alias target and health evaluation, a key policy and the services that use the key), and
uniqueness across the fleet (one owner per DNS record, SCP name, failover role, GCP id). A value
the offline plan accepts but the service refuses is a failed first `pulumi up`; these rules move
that failure to `./dev plan`.

Every rule cites the page it encodes (`source`); `docs/provider-rules.md` is generated from
`RULES` (`python -m cells rules --doc`) and a test keeps it current.

Stack rules read one recorded plan (`check_stack`); fleet rules read the plans of every stack
together (`check_fleet_plans`). A violation names the rule, the URN, the value, what the service
allows and where the value came from (a config key, the engine's autoname, or a derived name).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cells.core.naming import callback_url_problem
from cells.core.regions import ELB_LOG_ACCOUNTS, ELB_LOG_SERVICE, elb_log_principal  # noqa: F401  # region facts, re-exported
from cells.offline.plan import Plan, PlannedResource

# pulumi-aws (Terraform bridge) autonaming: the logical name, "-", then 7 random characters.
AUTONAME_RANDOM = "abcdefg"
AUTONAME_SOURCE = "https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming"

# CloudFront's one hosted zone id: the alias target zone of every CloudFront distribution.
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"

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


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    value: str
    allowed: str
    origin: str
    stack: str = ""

    def message(self) -> str:
        where = f"{self.stack}: " if self.stack else ""
        return (
            f"{where}[{self.rule}] {self.urn}\n    value: {self.value}\n    allowed: {self.allowed}\n"
            f"    from: {self.origin}"
        )


@dataclass(frozen=True)
class Rule:
    id: str
    service: str
    summary: str
    source: str
    check: Callable[..., Iterable[Violation]]
    fleet: bool = False


RULES: list[Rule] = []


def rule(id: str, service: str, summary: str, source: str, fleet: bool = False):
    def register(fn: Callable[..., Iterable[Violation]]) -> Callable[..., Iterable[Violation]]:
        RULES.append(Rule(id, service, summary, source, fn, fleet))
        return fn

    return register


def _origin(r: PlannedResource, key: str, value: str, plan: Plan | None = None) -> str:
    """Where a value came from: the stack's config, or a name the program derived."""
    cell = _cell_name(plan) if plan else None
    if cell and cell in value:
        return f"input {key} of {r.name}, derived from myark:cell.name {cell!r} (cells/core/naming.py)"
    return f"input {key} of {r.name}, set by the program"


def _cell_name(plan: Plan) -> str | None:
    return plan.outputs.get("cell") if isinstance(plan.outputs.get("cell"), str) else None


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return None
            data = data[key]
        elif not isinstance(data, dict) or key not in data:
            return None
        else:
            data = data[key]
    return data


# ---------------------------------------------------------------------------------------------
# Names: length and characters of the name the service receives (after autonaming).


@dataclass(frozen=True)
class NameSpec:
    field: str
    max_len: int
    pattern: str
    why: str
    source: str
    min_len: int = 1
    autonamed: bool = True
    lower: bool = False  # the provider lowercases the autoname (S3 buckets)


_ALNUM_HYPHEN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
AWS_NAMES: dict[str, NameSpec] = {
    "aws:lb/loadBalancer:LoadBalancer": NameSpec(
        "name",
        32,
        _ALNUM_HYPHEN,
        "1-32 letters, digits, hyphens; no hyphen at either end",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
    ),
    "aws:lb/targetGroup:TargetGroup": NameSpec(
        "name",
        32,
        _ALNUM_HYPHEN,
        "1-32 letters, digits, hyphens; no hyphen at either end",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
    ),
    "aws:iam/role:Role": NameSpec(
        "name",
        64,
        r"[\w+=,.@-]+",
        "1-64 of letters, digits and +=,.@_-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
    ),
    "aws:iam/rolePolicy:RolePolicy": NameSpec(
        "name",
        128,
        r"[\w+=,.@-]+",
        "1-128 of letters, digits and +=,.@_-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html",
    ),
    "aws:s3/bucket:Bucket": NameSpec(
        "bucket",
        63,
        r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        "3-63 lowercase letters, digits, dots, hyphens; letter or digit at each end",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        min_len=3,
        lower=True,
    ),
    "aws:cloudwatch/eventArchive:EventArchive": NameSpec(
        "name",
        48,
        r"[.\-_A-Za-z0-9]+",
        "1-48 of letters, digits and ._-",
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html",
    ),
    "aws:cloudwatch/eventBus:EventBus": NameSpec(
        "name",
        256,
        r"[/.\-_A-Za-z0-9]+",
        "1-256 of letters, digits and /._-",
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html",
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameSpec(
        "name",
        512,
        r"[.\-_/#A-Za-z0-9]+",
        "1-512 of letters, digits and ._-/#",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    "aws:wafv2/webAcl:WebAcl": NameSpec(
        "name",
        128,
        r"[\w-]+",
        "1-128 of letters, digits, _ and -",
        "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html",
    ),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": NameSpec(
        "name",
        128,
        r"[\w-]+",
        "1-128 of letters, digits, _ and -",
        "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ResponseHeadersPolicyConfig.html",
    ),
    "aws:cloudfront/originAccessControl:OriginAccessControl": NameSpec(
        "name",
        64,
        r"[\w.-]+",
        "1-64 characters",
        "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginAccessControlConfig.html",
    ),
    "aws:ecs/cluster:Cluster": NameSpec(
        "name",
        255,
        r"[A-Za-z0-9_-]+",
        "1-255 letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html",
    ),
    "aws:ecs/service:Service": NameSpec(
        "name",
        255,
        r"[A-Za-z0-9_-]+",
        "1-255 letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
    ),
    "aws:ecs/taskDefinition:TaskDefinition": NameSpec(
        "family",
        255,
        r"[A-Za-z0-9_-]+",
        "1-255 letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
        autonamed=False,
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameSpec(
        "name",
        255,
        r"[^\x00-\x1f]+",
        "1-255 printable characters",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
    ),
    "aws:dynamodb/table:Table": NameSpec(
        "name",
        255,
        r"[A-Za-z0-9_.-]{3,}",
        "3-255 letters, digits and _.-",
        "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html",
        min_len=3,
    ),
    "aws:kms/alias:Alias": NameSpec(
        "name",
        256,
        r"alias/(?!aws/)[A-Za-z0-9/_-]+",
        "alias/ then letters, digits, /_- (not alias/aws/), at most 256",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
        autonamed=False,
    ),
    "aws:cognito/userPool:UserPool": NameSpec(
        "name",
        128,
        r"[\w\s+=,.@-]+",
        "1-128 of letters, digits, spaces and +=,.@_-",
        "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html",
    ),
    "aws:cognito/userPoolClient:UserPoolClient": NameSpec(
        "name",
        128,
        r"[\w\s+=,.@-]+",
        "1-128 of letters, digits, spaces and +=,.@_-",
        "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html",
    ),
    "aws:organizations/policy:Policy": NameSpec(
        "name",
        128,
        r"[\s\S]+",
        "1-128 characters",
        "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html",
        autonamed=False,
    ),
}

GCP_NAMES: dict[str, NameSpec] = {
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": NameSpec(
        "workloadIdentityPoolId",
        32,
        r"(?!gcp-)[a-z0-9-]+",
        "4-32 lowercase letters, digits, hyphens; not starting with gcp-",
        "https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools/create",
        min_len=4,
        autonamed=False,
    ),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": NameSpec(
        "workloadIdentityPoolProviderId",
        32,
        r"(?!gcp-)[a-z0-9-]+",
        "4-32 lowercase letters, digits, hyphens; not starting with gcp-",
        "https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/create",
        min_len=4,
        autonamed=False,
    ),
    "gcp:serviceaccount/account:Account": NameSpec(
        "accountId",
        30,
        r"[a-z](?:[-a-z0-9]*[a-z0-9])",
        "6-30 lowercase letters, digits, hyphens; starts with a letter, no hyphen at the end",
        "https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create",
        min_len=6,
        autonamed=False,
    ),
    "gcp:kms/keyRing:KeyRing": NameSpec(
        "name",
        63,
        r"[A-Za-z0-9_-]+",
        "1-63 letters, digits, _ and -",
        "https://cloud.google.com/kms/docs/create-key-ring",
        autonamed=False,
    ),
    "gcp:kms/cryptoKey:CryptoKey": NameSpec(
        "name",
        63,
        r"[A-Za-z0-9_-]+",
        "1-63 letters, digits, _ and -",
        "https://cloud.google.com/kms/docs/create-key",
        autonamed=False,
    ),
    "gcp:bigquery/dataset:Dataset": NameSpec(
        "datasetId",
        1024,
        r"[A-Za-z0-9_]+",
        "1-1024 letters, digits and underscores",
        "https://cloud.google.com/bigquery/docs/datasets#dataset-naming",
        autonamed=False,
    ),
    "gcp:firestore/database:Database": NameSpec(
        "name",
        63,
        r"[a-z][a-z0-9-]*[a-z0-9]",
        "4-63 lowercase letters, digits, hyphens; starts with a letter, ends with a letter or digit",
        "https://firebase.google.com/docs/firestore/manage-databases#database_id",
        min_len=4,
        autonamed=False,
    ),
}


def planned_name(r: PlannedResource, spec: NameSpec) -> tuple[str, str] | None:
    """The name the service receives, and where it came from (None: no name to check)."""
    value = r.inputs.get(spec.field)
    if isinstance(value, str):
        return value, "explicit"
    if value is None and spec.autonamed:
        auto = f"{r.name}-{AUTONAME_RANDOM}"
        return (auto.lower() if spec.lower else auto), "autoname"
    return None


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
            cell = _cell_name(plan)
            if cell and cell in r.name:
                origin += f"; the logical name comes from myark:cell.name {cell!r}"
        else:
            origin = _origin(r, spec.field, value, plan)
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


# ---------------------------------------------------------------------------------------------
# Locations and pairings.


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
        uses.append((r, r.inputs.get("locationId"), _get(r.inputs, "cmekConfig", "kmsKeyName"), "cmekConfig"))
    for r in plan.of_type("gcp:bigquery/dataset:Dataset"):
        key = _get(r.inputs, "defaultEncryptionConfiguration", "kmsKeyName")
        uses.append((r, r.inputs.get("location"), key, "defaultEncryptionConfiguration"))
    for r in plan.of_type("gcp:bigquery/table:Table"):
        key = _get(r.inputs, "encryptionConfiguration", "kmsKeyName")
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


# The managed rule in AWSManagedRulesCommonRuleSet that blocks request bodies over 8 KB.
WAF_BODY_SIZE_RULE = "SizeRestrictions_BODY"


@rule(
    "waf-common-body-size",
    "AWS WAF",
    "A regional web ACL (the API's) using AWSManagedRulesCommonRuleSet overrides its SizeRestrictions_BODY rule (which blocks "
    "bodies over 8 KB), so uploads through the API are not blocked; the ACL scopes its own size limit.",
    "https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html",
)
def _waf_body(plan: Plan) -> Iterator[Violation]:
    for r in plan.of_type("aws:wafv2/webAcl:WebAcl"):
        if r.inputs.get("scope") != "REGIONAL":
            continue  # CLOUDFRONT ACLs front the static web app, which takes no uploads
        for rl in r.inputs.get("rules") or []:
            group = _get(rl, "statement", "managedRuleGroupStatement") or {}
            if group.get("name") != "AWSManagedRulesCommonRuleSet":
                continue
            overridden = {o.get("name") for o in group.get("ruleActionOverrides") or []}
            if WAF_BODY_SIZE_RULE not in overridden and not group.get("scopeDownStatement"):
                yield Violation(
                    "waf-common-body-size",
                    r.urn,
                    f"rule {rl.get('name')!r}: {WAF_BODY_SIZE_RULE} blocks bodies over 8 KB everywhere",
                    f"ruleActionOverrides for {WAF_BODY_SIZE_RULE} (count) or a scope-down statement",
                    "cells/infra/components/load_balancer.py web ACL rules",
                )


@rule(
    "cognito-custom-domain-apex",
    "Amazon Cognito",
    "A user pool's custom domain needs its parent domain to resolve: an A record at the parent exists "
    "(and is created before the domain).",
    "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-add-custom-domain.html",
)
def _cognito_apex(plan: Plan) -> Iterator[Violation]:
    a_records = {
        str(r.inputs.get("name", "")).rstrip(".").lower()
        for r in plan.resources
        if r.type in ("aws:route53/record:Record", "cloudflare:index/dnsRecord:DnsRecord")
        and r.inputs.get("type") == "A"
    }
    for r in plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain"):
        domain = str(r.inputs.get("domain", ""))
        if "." not in domain or not r.inputs.get("certificateArn"):
            continue  # a prefix domain on amazoncognito.com
        parent = domain.split(".", 1)[1].lower()
        if parent not in a_records:
            yield Violation(
                "cognito-custom-domain-apex",
                r.urn,
                f"custom domain {domain!r}, no A record for {parent!r} in the plan",
                f"an A record at {parent} before the custom domain is created",
                "myark:domain (the global stack's edge owns the apex record)",
            )


OAUTH_FLOWS = frozenset({"code", "implicit", "client_credentials"})
OAUTH_STANDARD_SCOPES = frozenset({"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"})


@rule(
    "cognito-oauth-client",
    "Amazon Cognito",
    "An app client of a pool with a hosted sign-in domain has OAuth flows (code, implicit, "
    "client_credentials), scopes (email, phone and profile need openid), 1-100 callback URLs (https, or "
    "http://localhost; no fragment) and an identity provider.",
    "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html",
)
def _oauth_client(plan: Plan) -> Iterator[Violation]:
    if not plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain"):
        return
    for r in plan.of_type("aws:cognito/userPoolClient:UserPoolClient"):
        i = r.inputs
        flows = i.get("allowedOauthFlows") or []
        scopes = i.get("allowedOauthScopes") or []
        urls = i.get("callbackUrls") or []
        problems = []
        if not i.get("allowedOauthFlowsUserPoolClient"):
            problems.append("allowedOauthFlowsUserPoolClient is not true")
        if not flows or set(flows) - OAUTH_FLOWS:
            problems.append(f"allowedOauthFlows {flows}")
        if not scopes:
            problems.append("no allowedOauthScopes")
        if {"email", "phone", "profile"} & set(scopes) and "openid" not in scopes:
            problems.append("email/phone/profile scopes without openid")
        if not 1 <= len(urls) <= 100:
            problems.append(f"{len(urls)} callbackUrls")
        for url in [*urls, *(i.get("logoutUrls") or [])]:
            why = callback_url_problem(url)
            if why:
                problems.append(f"{url} {why}")
        if not i.get("supportedIdentityProviders"):
            problems.append("no supportedIdentityProviders")
        if problems:
            yield Violation(
                "cognito-oauth-client",
                r.urn,
                "; ".join(problems),
                "flows in code/implicit/client_credentials, scopes, 1-100 https callback URLs, COGNITO provider",
                "myark:global.auth",
            )


def csp_sources(policy: str, directive: str) -> list[str] | None:
    """The sources a CSP allows for `directive` (falling back to default-src), or None if unset."""
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed.setdefault(words[0].lower(), words[1:])
    return parsed.get(directive, parsed.get("default-src"))


def _csp_allows(sources: list[str], origin: str) -> bool:
    return (
        "*" in sources
        or origin in sources
        or any(s.startswith("https://*.") and origin.endswith(s[len("https://*") :]) for s in sources)
    )


@rule(
    "csp-connect-api",
    "Browsers (Content-Security-Policy)",
    "The web app's CSP connect-src (or default-src, its fallback) admits the origins the app calls: "
    "api.<domain>, <cell>.api.<domain>, auth.<domain> and the Cognito endpoint.",
    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Content-Security-Policy/connect-src",
)
def _csp(plan: Plan) -> Iterator[Violation]:
    from cells.core.naming import api_host, cell_api_host, control_plane_host

    cell, api = _cell_name(plan), plan.outputs.get("apiHost")
    if not cell or not isinstance(api, str):
        return
    domain = api.removeprefix(f"{cell}.api.")
    needed = [
        f"https://{h}" for h in (api_host(domain), cell_api_host(cell, domain), control_plane_host(domain))
    ]
    for r in plan.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"):
        policy = _get(r.inputs, "securityHeadersConfig", "contentSecurityPolicy", "contentSecurityPolicy")
        if not isinstance(policy, str):
            continue
        sources = csp_sources(policy, "connect-src") or []
        missing = [o for o in needed if not _csp_allows(sources, o)]
        if missing:
            yield Violation(
                "csp-connect-api",
                r.urn,
                f"{policy!r} blocks fetches to {', '.join(missing)}",
                "connect-src listing the API, the cell's API and the sign-in origins",
                "cells/infra/components/frontend.py security headers, from myark:domain and myark:cell.name",
            )


# ---------------------------------------------------------------------------------------------
# Fleet: uniqueness across the plans of every stack.


def _dns_key(r: PlannedResource) -> tuple | None:
    name = str(r.inputs.get("name", "")).rstrip(".").lower()
    if r.type == "aws:route53/record:Record":
        return ("route53", name, r.inputs.get("type"), r.inputs.get("setIdentifier") or "")
    if r.type == "cloudflare:index/dnsRecord:DnsRecord":
        return ("cloudflare", name, r.inputs.get("type"))
    return None


@rule(
    "dns-record-one-owner",
    "Route 53, Cloudflare DNS",
    "Each DNS record (name, type and set identifier) has one owner in the fleet: Route 53 keeps one "
    "record per name/type/set id (a second owner overwrites it and deleting either deletes it), "
    "Cloudflare refuses an identical record.",
    "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
    fleet=True,
)
def _dns_owners(plans: Sequence[Plan]) -> Iterator[Violation]:
    owners: dict[tuple, list[tuple[Plan, PlannedResource]]] = defaultdict(list)
    for plan in plans:
        for r in plan.resources:
            key = _dns_key(r)
            if key:
                owners[key].append((plan, r))
    for key, found in owners.items():
        if len(found) > 1:
            for plan, r in found[1:]:
                yield Violation(
                    "dns-record-one-owner",
                    r.urn,
                    f"{key[2]} {key[1]} also owned by {found[0][0].stack} ({found[0][1].name})",
                    "one owner per record in the fleet (shared names: the global stack)",
                    "ACM validation records follow the certificate's names; others from myark:domain",
                    stack=plan.stack,
                )


@rule(
    "route53-failover-roles",
    "Route 53",
    "A failover record name has at most one PRIMARY and one SECONDARY across the fleet.",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-failover.html",
    fleet=True,
)
def _failover(plans: Sequence[Plan]) -> Iterator[Violation]:
    roles: dict[tuple, list[tuple[Plan, PlannedResource]]] = defaultdict(list)
    for plan in plans:
        for r in plan.of_type("aws:route53/record:Record"):
            for policy in r.inputs.get("failoverRoutingPolicies") or []:
                roles[(str(r.inputs.get("name")).lower(), policy.get("type"))].append((plan, r))
    for (name, role), found in roles.items():
        for plan, r in found[1:]:
            yield Violation(
                "route53-failover-roles",
                r.urn,
                f"{role} of {name}, also claimed by {found[0][0].stack}",
                "one PRIMARY and one SECONDARY per failover name",
                "myark:cell.defaultForZone (PRIMARY) and myark:cell.failoverForZone (SECONDARY)",
                stack=plan.stack,
            )


@rule(
    "scp-name-unique",
    "AWS Organizations",
    "Service control policy names are unique in the organization (CreatePolicy fails with "
    "DuplicatePolicyException).",
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html",
    fleet=True,
)
def _scp_names(plans: Sequence[Plan]) -> Iterator[Violation]:
    seen: dict[str, str] = {}
    for plan in plans:
        for r in plan.of_type("aws:organizations/policy:Policy"):
            name = str(r.inputs.get("name"))
            if name in seen:
                yield Violation(
                    "scp-name-unique",
                    r.urn,
                    f"name={name!r}, also created by {seen[name]}",
                    "one policy per name in the organization",
                    "myark:awsScpTarget (only the zone's default cell creates the zone's policy)",
                    stack=plan.stack,
                )
            seen.setdefault(name, plan.stack)


# GCP resources whose id must be unique within a project (and location, where it has one).
GCP_UNIQUE_IDS = {
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ("workloadIdentityPoolId",),
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:kms/keyRing:KeyRing": ("location", "name"),
    "gcp:firestore/database:Database": ("name",),
    "gcp:bigquery/dataset:Dataset": ("datasetId",),
}


@rule(
    "gcp-id-unique",
    "GCP (IAM, Cloud KMS, Firestore, BigQuery)",
    "Ids of pools, service accounts, key rings (per location), Firestore databases and datasets are "
    "unique within a project across the fleet.",
    "https://cloud.google.com/resource-manager/docs/creating-managing-projects",
    fleet=True,
)
def _gcp_unique(plans: Sequence[Plan]) -> Iterator[Violation]:
    seen: dict[tuple, str] = {}
    for plan in plans:
        for r in plan.resources:
            fields = GCP_UNIQUE_IDS.get(r.type)
            if not fields:
                continue
            key = (r.type, r.inputs.get("project"), *(r.inputs.get(f) for f in fields))
            if key in seen:
                yield Violation(
                    "gcp-id-unique",
                    r.urn,
                    f"{'/'.join(str(k) for k in key[2:])} in project {key[1]}, also owned by {seen[key]}",
                    "one resource per id in a project",
                    _origin(r, fields[-1], str(key[-1]), plan) + " and myark:cell.gcp.project",
                    stack=plan.stack,
                )
            seen.setdefault(key, f"{plan.stack} ({r.name})")


# ---------------------------------------------------------------------------------------------


def check_stack(plan: Plan) -> list[Violation]:
    found: list[Violation] = []
    for r in RULES:
        if not r.fleet:
            found.extend(
                Violation(v.rule, v.urn, v.value, v.allowed, v.origin, plan.stack) for v in r.check(plan)
            )
    return found


def check_fleet_plans(plans: Sequence[Plan]) -> list[Violation]:
    found: list[Violation] = []
    for plan in plans:
        found.extend(check_stack(plan))
    for r in RULES:
        if r.fleet:
            found.extend(r.check(plans))
    return found


def markdown_table() -> str:
    lines = [
        "# Provider rules",
        "",
        "Generated from `cells/guardrails/provider_rules.py` by `python -m cells rules --doc docs/provider-rules.md`; "
        "a test keeps it current.",
        "What each service used here documents about the values it accepts, checked over the offline plan "
        "(`./dev plan STACK`: the stack's rules; `./dev rules`: every stack, and the fleet rules over all).",
        "",
        "| Rule | Scope | Service | What the service allows | Source |",
        "|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f"| `{r.id}` | {'fleet' if r.fleet else 'stack'} | {r.service} | {r.summary} | <{r.source}> |"
        )
    lines += ["", "## Name limits (after autonaming)", "", "| Resource type | Field | Allowed | Source |"]
    lines.append("|---|---|---|---|")
    for type_, spec in {**AWS_NAMES, **GCP_NAMES}.items():
        auto = " (autonamed)" if spec.autonamed else ""
        lines.append(f"| `{type_}` | `{spec.field}`{auto} | {spec.why} | <{spec.source}> |")
    return "\n".join(lines) + "\n"
