"""The guardrails: residency, encryption, public access, TLS, network, IAM, tags and protection.

Every rule is a `pulumi_policy` policy object. Two worlds run the very same objects:

- a real `pulumi preview/up --policy-pack policy`: `policy/__main__.py` hands `ALL_POLICIES` to a
  `PolicyPack`, the engine calls `validate(args, report_violation)` with the resource's inputs
  (camelCase wire names), its options and its provider; the stack's config arrives in the
  `PULUMI_CONFIG` environment variable, as it does for the program;
- offline, `check_plan(plan)` builds the same `ResourceValidationArgs` (plus the stack config)
  from a recorded `cells.offline.plan.Plan` and calls the same `validate`.

This module never constructs a `PolicyPack`: that starts a gRPC server and blocks.

Each check is a generator of messages; the policy wrapper appends the policy's remediation to
every message it reports, so no violation leaves without a fix.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from cells.core.naming import REQUIRED_TAGS, TAG_CELL, TAG_REGION, TAG_RESIDENCY, TAG_TENANT, gcp_labels
from cells.core.regions import AWS_GLOBAL_MODULES, CLOUDFRONT_CERT_REGION, REGIONS, ZONES, location_in_zone
from cells.offline.state_safety import STATEFUL_TYPES

if TYPE_CHECKING:
    from cells.offline.plan import Plan, PlannedResource

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# The residency value of the global stack (identity, billing, routing): not a user-data zone.
GLOBAL_ZONE = "global"

# --- resource types ------------------------------------------------------------------------------
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCKS = (
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
)
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
SNS_TOPIC = "aws:sns/topic:Topic"
SQS_QUEUE = "aws:sqs/queue:Queue"
COGNITO_USER_POOL = "aws:cognito/userPool:UserPool"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ACM_CERTIFICATE = "aws:acm/certificate:Certificate"
# A waiter: it creates nothing in AWS, it waits until its certificate (checked itself) is issued.
ACM_CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
WAF_CLOUDFRONT_SCOPED = (
    "aws:wafv2/webAcl:WebAcl",
    "aws:wafv2/ipSet:IpSet",
    "aws:wafv2/ruleGroup:RuleGroup",
    "aws:wafv2/regexPatternSet:RegexPatternSet",
)
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
IAM_POLICY_DOCUMENTS = {  # type -> the input holding a policy document
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
IAM_ROLE = "aws:iam/role:Role"
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ADMIN_POLICY_ARNS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"})
LONG_LIVED_KEYS = {
    "aws:iam/accessKey:AccessKey": "an IAM user access key",
    "gcp:serviceaccount/key:Key": "a GCP service account key",
}
BACKUP_PLAN = "aws:backup/plan:Plan"
LOG_SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
FIRESTORE_DATABASE = "gcp:firestore/database:Database"
BIGQUERY_DATASET = "gcp:bigquery/dataset:Dataset"
BIGQUERY_TABLE = "gcp:bigquery/table:Table"
# GCP identity objects are global by nature (their location is literally "global") and hold no user data.
GCP_GLOBAL_TYPES = frozenset(
    {
        "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
        "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        "gcp:serviceaccount/account:Account",
    }
)

# --- facts the rules compare against ---------------------------------------------------------------
# The cell's load balancer component (cells/infra/components/load_balancer.py): the only place a security group
# may admit the whole internet.
LB_COMPONENT_TYPE = "myark:network:LoadBalancer"
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
WORLD_OPEN_PORTS = frozenset({80, 443})
# ELB policies whose minimum is TLS 1.2 and whose ciphers are all forward secret.
ALB_SSL_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    }
)
# CloudFront's viewer security policies, oldest first (AWS "Supported protocols and ciphers").
CLOUDFRONT_TLS_VERSIONS = (
    "SSLv3",
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
    "TLSv1.2_2025",
    "TLSv1.3_2025",
)
CLOUDFRONT_MIN_TLS = "TLSv1.2_2021"
HTTPS_VIEWER_POLICIES = frozenset({"redirect-to-https", "https-only"})
S3_KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEE_URIS = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)
KMS_MIN_DELETION_WINDOW, KMS_PREFERRED_DELETION_WINDOW = 7, 30
# A log bucket's physical name: its logical name plus the suffix Pulumi's auto-naming adds.
LOG_BUCKET_NAME = re.compile(r"-logs(-[0-9a-f]{7,})?$")


def _label_key(tag: str) -> str:
    return next(iter(gcp_labels({tag: ""})))


def _label_value(value: str) -> str:
    return gcp_labels({"": value})[""]


# --- reading values that may be proxies, JSON strings or absent ---------------------------------


def _get(value: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(value, Mapping) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, Sequence) and not isinstance(value, str) and isinstance(key, int):
            value = value[key] if -len(value) <= key < len(value) else None
        else:
            return None
    return value


def _items(value: Any) -> list[Any]:
    """A list input (None, one value, or a list) as a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _items(value) if isinstance(v, Mapping)]


def _int(value: Any) -> int | None:
    # The wire carries numbers as doubles (443.0).
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as JSON text or as an object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return _maps(_get(document, "Statement"))


def _type_parts(resource_type: str) -> tuple[str, str]:
    """`aws:s3/bucket:Bucket` -> ("aws", "s3")."""
    parts = resource_type.split(":")
    return parts[0], (parts[1].split("/")[0] if len(parts) > 2 else "")


def _arn_region(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return (parts[3] or None) if len(parts) > 3 and parts[0] == "arn" else None


# --- the stack a resource belongs to -----------------------------------------------------------------


@dataclass(frozen=True)
class StackContext:
    """What the stack's config says about the cell (or the global stack) being deployed."""

    cell: str | None = None
    region: str | None = None
    zone: str | None = None
    domain: str | None = None
    cmek_tenants: frozenset[str] = frozenset()  # tenants whose config asks for their own key
    cmek_databases: frozenset[str] = frozenset()  # those tenants' physical shards (Firestore databases)


def _decode(value: Any) -> Any:
    """Config arrives as strings in a real run (objects as JSON) and as YAML values offline."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@lru_cache(maxsize=4)
def _parse_config_env(raw: str) -> dict[str, Any]:
    try:
        values = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _runtime_stack_config() -> Mapping[str, Any]:
    # The CLI passes the stack's config to a policy pack in PULUMI_CONFIG, as it does to programs.
    return _parse_config_env(os.environ.get("PULUMI_CONFIG", ""))


def stack_config_of(args: Any) -> Mapping[str, Any]:
    """The stack's config: carried by offline args, read from the environment in a real run."""
    own = getattr(args, "stack_config", None)
    return own if own is not None else _runtime_stack_config()


def context_from_config(config: Mapping[str, Any]) -> StackContext:
    domain = _decode(config.get("myark:domain"))
    domain = domain if isinstance(domain, str) else None
    if _decode(config.get("myark:kind")) == "global":
        spec = _decode(config.get("myark:global"))
        region = _get(spec, "region") or "us-east-1"
        return StackContext(cell=GLOBAL_ZONE, region=region, zone=GLOBAL_ZONE, domain=domain)
    cell = _decode(config.get("myark:cell"))
    if not isinstance(cell, Mapping):
        return StackContext(domain=domain)
    region = cell.get("region")
    zone = REGIONS[region].zone if region in REGIONS else None
    tenants = _get(cell, "shards", "tenants")
    dedicated = {
        str(name): t
        for name, t in (tenants.items() if isinstance(tenants, Mapping) else [])
        if isinstance(t, Mapping) and t.get("dedicatedKmsKey") is True
    }
    return StackContext(
        cell=cell.get("name"),
        region=region,
        zone=zone,
        domain=domain,
        cmek_tenants=frozenset(dedicated),
        cmek_databases=frozenset(str(t["physical"]) for t in dedicated.values() if t.get("physical")),
    )


def stack_context(args: Any) -> StackContext:
    return context_from_config(stack_config_of(args))


def _tag(props: Mapping[str, Any], tag: str) -> Any:
    """A resource's own tag (AWS `tags`) or label (GCP `labels`, key in GCP's label alphabet)."""
    value = _get(props, "tags", tag)
    return value if value is not None else _get(props, "labels", _label_key(tag))


def resource_zone(args: Any) -> str | None:
    """The residency zone a resource must stay in: its own tag first, else its stack's cell."""
    tagged = _tag(args.props, TAG_RESIDENCY)
    if isinstance(tagged, str) and tagged:
        return tagged
    return stack_context(args).zone


def resource_location(args: Any) -> str | None:
    """Where a resource lives: its own region/location input, else its provider's region."""
    pkg, _ = _type_parts(args.resource_type)
    keys = ("region",) if pkg == "aws" else ("location", "locationId", "region")
    for key in keys:
        value = args.props.get(key)
        if isinstance(value, str) and value:
            return value
    provider = getattr(args, "provider", None)
    region = _get(provider.props, "region") if provider is not None else None
    return region if isinstance(region, str) and region else None


def _is_cloudfront_certificate(args: Any, location: str | None) -> bool:
    """The one ACM certificate allowed outside the zone: CloudFront only takes us-east-1 certificates.

    Precisely: an ACM certificate in us-east-1 whose every name (domainName and SANs) is a cell's
    frontend host `<cell>.app.<domain>` (`cells.core.naming.cell_app_host`), with the stack's domain when
    the config names one. It is a public certificate: it holds no user data.
    """
    if args.resource_type != ACM_CERTIFICATE or location != CLOUDFRONT_CERT_REGION:
        return False
    domain = stack_context(args).domain
    host = re.compile(
        r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\.app\." + (re.escape(domain) if domain else r"[a-z0-9.-]+")
    )
    names = [args.props.get("domainName"), *_items(args.props.get("subjectAlternativeNames"))]
    return all(isinstance(n, str) and host.fullmatch(n) for n in names)


def residency_exemption(args: Any, location: str | None) -> str | None:
    """Why a resource may live outside its zone, or None. Each exception holds no user data."""
    pkg, module = _type_parts(args.resource_type)
    if pkg == "cloudflare":
        return "Cloudflare resources run on the global edge and store no user data"
    if pkg == "aws" and module in AWS_GLOBAL_MODULES:
        return f"AWS {module} is a global service (no region)"
    if args.resource_type in WAF_CLOUDFRONT_SCOPED and args.props.get("scope") == "CLOUDFRONT":
        return "a CloudFront-scoped WAF object is global (AWS keeps it in us-east-1) and stores no user data"
    if _is_cloudfront_certificate(args, location):
        return "CloudFront only accepts us-east-1 certificates; a public certificate holds no user data"
    if args.resource_type == ACM_CERTIFICATE_VALIDATION:
        return "a certificate validation creates nothing in AWS; it waits in its certificate's region"
    if args.resource_type in GCP_GLOBAL_TYPES:
        return "GCP workload identity pools, providers and service accounts are global (location 'global')"
    return None


def _zone_regions(zone: str) -> str:
    z = ZONES[zone]
    return ", ".join((*z.aws_regions, *(g for g in z.gcp_locations if g.islower())))


# --- the checks ------------------------------------------------------------------------------------
Check = Callable[[Any], Iterable[str]]
StackCheck = Callable[[Any], Iterable[tuple[str | None, str]]]


def check_residency(args: Any) -> Iterator[str]:
    if _type_parts(args.resource_type)[0] == "pulumi":
        return  # providers and stack references hold no data
    zone = resource_zone(args)
    if zone is None or zone == GLOBAL_ZONE:
        return  # the global stack holds no user data of a zone; the other rules still apply to it
    if zone not in ZONES:
        yield f"residency tag {TAG_RESIDENCY}={zone!r} names no known zone (zones: {', '.join(ZONES)})."
        return
    location = resource_location(args)
    if location is None or residency_exemption(args, location):
        return
    if not location_in_zone(location, zone):
        yield (
            f"{args.resource_type} is in {location}, outside residency zone {zone!r} ({_zone_regions(zone)})."
        )


def _is_log_bucket(args: Any) -> bool:
    # SecureBucket names the configuration `<bucket>-encryption`; otherwise read the bucket's name.
    if args.name.removesuffix("-encryption").endswith("-logs"):
        return True
    bucket = args.props.get("bucket")
    return isinstance(bucket, str) and LOG_BUCKET_NAME.search(bucket) is not None


def _sse_rules_problems(args: Any, rules: Any) -> Iterator[str]:
    rules = _maps(rules)
    if not rules:
        yield "the bucket encryption configuration has no rule."
    for rule in rules:
        algorithm = _get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if algorithm in S3_KMS_ALGORITHMS:
            continue
        if algorithm == "AES256":
            if not _is_log_bucket(args):
                yield "SSE-S3 (AES256) is only for log buckets (named *-logs) that AWS log delivery fills."
            continue
        yield f"sseAlgorithm is {algorithm!r}; user data buckets must use aws:kms."


def check_s3_encryption(args: Any) -> Iterator[str]:
    if args.resource_type in S3_SSE:
        yield from _sse_rules_problems(args, args.props.get("rules"))
    elif args.resource_type == S3_BUCKET and args.props.get("serverSideEncryptionConfiguration") is not None:
        yield from _sse_rules_problems(args, _get(args.props, "serverSideEncryptionConfiguration", "rule"))


def check_kms_rotation(args: Any) -> Iterator[str]:
    if args.resource_type != KMS_KEY:
        return
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and args.props.get("enableKeyRotation") is not True:
        yield "the KMS key does not rotate (enableKeyRotation is not true)."


def check_log_group_encryption(args: Any) -> Iterator[str]:
    if args.resource_type == LOG_GROUP and not args.props.get("kmsKeyId"):
        yield "the log group has no kmsKeyId: its events are encrypted with a key the cell does not control."


def check_ssm_secure_string(args: Any) -> Iterator[str]:
    if args.resource_type == SSM_PARAMETER and args.props.get("type") != "SecureString":
        yield f"the SSM parameter is of type {args.props.get('type')!r}, not SecureString."


def check_dynamodb_encryption(args: Any) -> Iterator[str]:
    if (
        args.resource_type == DYNAMODB_TABLE
        and _get(args.props, "serverSideEncryption", "enabled") is not True
    ):
        yield "the DynamoDB table does not enable serverSideEncryption with a KMS key."


def check_messaging_encryption(args: Any) -> Iterator[str]:
    if args.resource_type == SNS_TOPIC and not args.props.get("kmsMasterKeyId"):
        yield "the SNS topic has no kmsMasterKeyId."
    elif args.resource_type == SQS_QUEUE and not (
        args.props.get("kmsMasterKeyId") or args.props.get("sqsManagedSseEnabled") is True
    ):
        yield "the SQS queue sets neither kmsMasterKeyId nor sqsManagedSseEnabled."


def _cmek_key(args: Any) -> Any:
    if args.resource_type == BIGQUERY_DATASET:
        return _get(args.props, "defaultEncryptionConfiguration", "kmsKeyName")
    if args.resource_type == BIGQUERY_TABLE:
        return _get(args.props, "encryptionConfiguration", "kmsKeyName")
    return _get(args.props, "cmekConfig", "kmsKeyName")


def cmek_required(args: Any) -> str | None:
    """Why this GCP data resource must use a customer-managed key, or None."""
    if args.resource_type not in (BIGQUERY_DATASET, BIGQUERY_TABLE, FIRESTORE_DATABASE):
        return None
    if args.get_config().get("requireCmek") is True:
        return "the policy config sets requireCmek"
    ctx = stack_context(args)
    tenant = _tag(args.props, TAG_TENANT)
    by_label = {_label_value(t): t for t in ctx.cmek_tenants}
    if isinstance(tenant, str) and (tenant in ctx.cmek_tenants or tenant in by_label):
        return f"tenant {by_label.get(tenant, tenant)!r} has dedicatedKmsKey: true in the stack config"
    if args.resource_type == FIRESTORE_DATABASE and args.props.get("name") in ctx.cmek_databases:
        return f"database {args.props.get('name')!r} is the shard of a tenant with dedicatedKmsKey: true"
    return None


def check_cmek_required(args: Any) -> Iterator[str]:
    reason = cmek_required(args)
    if reason and not _cmek_key(args):
        yield f"{args.resource_type} has no customer-managed key, but {reason}."


def check_cmek_recommended(args: Any) -> Iterator[str]:
    # Tables inherit their dataset's default key: the dataset is where the advice belongs.
    if args.resource_type not in (BIGQUERY_DATASET, FIRESTORE_DATABASE) or cmek_required(args):
        return
    if not _cmek_key(args):
        yield (
            f"{args.resource_type} is encrypted at rest with a Google-managed key; a customer-managed key "
            "(CMEK) would let the cell revoke access to its data."
        )


def check_public_access_block(args: Any) -> Iterator[str]:
    if args.resource_type not in S3_PUBLIC_ACCESS_BLOCKS:
        return
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [f for f in flags if args.props.get(f) is not True]
    if off:
        yield f"public access is not fully blocked: {', '.join(off)} not true."


def _public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    aws = _get(principal, "AWS") if isinstance(principal, Mapping) else None
    return "*" in _items(aws)


def check_bucket_policy_not_public(args: Any) -> Iterator[str]:
    if args.resource_type == S3_BUCKET_POLICY:
        document = args.props.get("policy")
    elif args.resource_type == S3_BUCKET:
        document = args.props.get("policy")
        if document is None:
            return
    else:
        return
    for st in _statements(_document(document)):
        if st.get("Effect") == "Allow" and _public_principal(st.get("Principal")) and not st.get("Condition"):
            sid = f" {st.get('Sid')!r}" if st.get("Sid") else ""
            yield f"bucket policy statement{sid} allows anyone (Principal *) without a Condition."


def check_acl_not_public(args: Any) -> Iterator[str]:
    if args.resource_type not in (*S3_ACLS, S3_BUCKET, *S3_OBJECTS):
        return
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"the canned ACL {acl!r} makes data readable outside the account."
    for grant in _maps(_get(args.props, "accessControlPolicy", "grants")):
        uri = _get(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEE_URIS:
            yield f"an ACL grant gives {_get(grant, 'permission')} to {uri.rsplit('/', 1)[-1]}."


def check_listener_tls(args: Any) -> Iterator[str]:
    if args.resource_type not in LISTENERS:
        return
    protocol = str(args.props.get("protocol") or "HTTP").upper()  # an ALB listener defaults to HTTP
    if protocol in ("HTTPS", "TLS"):
        policy = args.props.get("sslPolicy")
        if policy not in ALB_SSL_POLICIES:
            shown = repr(policy) if policy else "unset (AWS then picks ELBSecurityPolicy-2016-08, TLS 1.0)"
            yield f"the {protocol} listener's sslPolicy is {shown}, not a TLS 1.2+ policy."
    elif protocol == "HTTP":
        actions = _maps(args.props.get("defaultActions"))
        redirects = [
            a
            for a in actions
            if a.get("type") == "redirect" and str(_get(a, "redirect", "protocol") or "").upper() == "HTTPS"
        ]
        if not actions or len(redirects) != len(actions):
            yield "the HTTP listener does more than redirect to HTTPS: plain HTTP would reach the service."
    else:
        yield f"the listener speaks {protocol}, which carries no TLS; only HTTPS (and HTTP redirects) may."


def check_cloudfront_tls(args: Any) -> Iterator[str]:
    if args.resource_type != CLOUDFRONT_DISTRIBUTION:
        return
    cert = args.props.get("viewerCertificate")
    version = _get(cert, "minimumProtocolVersion")
    if _get(cert, "cloudfrontDefaultCertificate") is True:
        yield "the distribution uses CloudFront's default certificate, which still accepts TLS 1.0."
    elif version not in CLOUDFRONT_TLS_VERSIONS or (
        CLOUDFRONT_TLS_VERSIONS.index(version) < CLOUDFRONT_TLS_VERSIONS.index(CLOUDFRONT_MIN_TLS)
    ):
        yield f"viewerCertificate.minimumProtocolVersion is {version!r}, below {CLOUDFRONT_MIN_TLS}."
    behaviors = [("defaultCacheBehavior", args.props.get("defaultCacheBehavior"))]
    behaviors += [
        (f"orderedCacheBehaviors[{i}]", b)
        for i, b in enumerate(_items(args.props.get("orderedCacheBehaviors")))
    ]
    for where, behavior in behaviors:
        policy = _get(behavior, "viewerProtocolPolicy")
        if policy not in HTTPS_VIEWER_POLICIES:
            yield f"{where}.viewerProtocolPolicy is {policy!r}; viewers could use plain HTTP."


@dataclass(frozen=True)
class _Ingress:
    cidrs: tuple[str, ...]
    protocol: str
    from_port: int | None
    to_port: int | None


def _ingress_rules(args: Any) -> list[_Ingress]:
    p = args.props
    if args.resource_type in SECURITY_GROUPS:
        return [
            _Ingress(
                tuple(_items(r.get("cidrBlocks")) + _items(r.get("ipv6CidrBlocks"))),
                str(r.get("protocol")),
                _int(r.get("fromPort")),
                _int(r.get("toPort")),
            )
            for r in _maps(p.get("ingress"))
        ]
    if args.resource_type == SG_INGRESS_RULE:
        cidrs = tuple(c for c in (p.get("cidrIpv4"), p.get("cidrIpv6")) if c)
        return [_Ingress(cidrs, str(p.get("ipProtocol")), _int(p.get("fromPort")), _int(p.get("toPort")))]
    if args.resource_type == SG_RULE and p.get("type") == "ingress":
        cidrs = tuple(_items(p.get("cidrBlocks")) + _items(p.get("ipv6CidrBlocks")))
        return [_Ingress(cidrs, str(p.get("protocol")), _int(p.get("fromPort")), _int(p.get("toPort")))]
    return []


def _urn_ancestor_types(urn: str) -> list[str]:
    parts = urn.split("::")
    return parts[2].split("$")[:-1] if len(parts) > 3 else []


def check_world_ingress(args: Any) -> Iterator[str]:
    for rule in _ingress_rules(args):
        world = sorted(set(rule.cidrs) & WORLD_CIDRS)
        if not world:
            continue
        all_ports = rule.protocol in ("-1", "all") or rule.from_port is None
        if all_ports or rule.from_port != rule.to_port or rule.from_port not in WORLD_OPEN_PORTS:
            ports = (
                "all ports"
                if all_ports
                else (
                    f"port {rule.from_port}"
                    if rule.from_port == rule.to_port
                    else f"ports {rule.from_port}-{rule.to_port}"
                )
            )
            yield f"ingress from {', '.join(world)} on {ports}; the internet may reach only ports 80 and 443."
        elif LB_COMPONENT_TYPE not in _urn_ancestor_types(args.urn):
            yield (
                f"ingress from {', '.join(world)} on port {rule.from_port} outside a load balancer "
                f"({LB_COMPONENT_TYPE}); only the load balancer faces the internet."
            )


def _admin_statements(document: Any) -> Iterator[Mapping[str, Any]]:
    for st in _statements(_document(document)):
        actions = set(_items(st.get("Action")))
        if st.get("Effect") == "Allow" and actions & {"*", "*:*"} and "*" in _items(st.get("Resource")):
            yield st


def check_iam_admin(args: Any) -> Iterator[str]:
    documents: list[tuple[str, Any]] = []
    if args.resource_type in IAM_POLICY_DOCUMENTS:
        documents.append(("policy", args.props.get(IAM_POLICY_DOCUMENTS[args.resource_type])))
    elif args.resource_type == IAM_ROLE:
        documents += [
            (f"inline policy {p.get('name')!r}", p.get("policy"))
            for p in _maps(args.props.get("inlinePolicies"))
        ]
        for arn in _items(args.props.get("managedPolicyArns")):
            if arn in ADMIN_POLICY_ARNS:
                yield f"the role has the managed policy {arn} attached."
    elif args.resource_type in IAM_ATTACHMENTS and args.props.get("policyArn") in ADMIN_POLICY_ARNS:
        yield f"attaches {args.props.get('policyArn')}."
    for where, document in documents:
        for st in _admin_statements(document):
            sid = f" {st.get('Sid')!r}" if st.get("Sid") else ""
            yield f"{where}: statement{sid} allows every action (*) on every resource (*)."


def check_long_lived_keys(args: Any) -> Iterator[str]:
    if args.resource_type in LONG_LIVED_KEYS:
        yield f"{LONG_LIVED_KEYS[args.resource_type]} is a long-lived secret that leaks and never expires."


def check_required_tags(args: Any) -> Iterator[str]:
    pkg, _ = _type_parts(args.resource_type)
    ctx = stack_context(args)
    expected = {TAG_CELL: ctx.cell, TAG_REGION: ctx.region, TAG_RESIDENCY: ctx.zone}
    if pkg == "aws" and isinstance(args.props.get("tags"), Mapping):
        present, want, field = args.props["tags"], expected, "tags"
    elif pkg == "gcp" and isinstance(args.props.get("labels"), Mapping):
        present, field = args.props["labels"], "labels"
        want = {_label_key(k): (_label_value(v) if v else None) for k, v in expected.items()}
    else:
        return
    missing = [k for k in want if not present.get(k)]
    if missing:
        yield f"{field} lack {', '.join(missing)}."
    wrong = [
        f"{k}={present.get(k)!r} (stack: {v!r})"
        for k, v in want.items()
        if v and present.get(k) and present.get(k) != v
    ]
    if wrong:
        yield f"{field} disagree with the stack: {', '.join(wrong)}."


def check_stateful_protect(args: Any) -> Iterator[str]:
    if args.resource_type in STATEFUL_TYPES and not args.opts.protect:
        yield "a stateful resource is not protected: one bad `pulumi up` or `destroy` would delete its data."


def check_cloud_deletion_protection(args: Any) -> Iterator[str]:
    t, p = args.resource_type, args.props
    if t in LOAD_BALANCERS and p.get("enableDeletionProtection") is not True:
        yield "the load balancer does not set enableDeletionProtection."
    elif t == LOG_GROUP and p.get("deletionProtectionEnabled") is not True:
        yield "the log group does not set deletionProtectionEnabled."
    elif t == DYNAMODB_TABLE:
        if p.get("deletionProtectionEnabled") is not True:
            yield "the DynamoDB table does not set deletionProtectionEnabled."
        if _get(p, "pointInTimeRecovery", "enabled") is not True:
            yield "the DynamoDB table does not enable pointInTimeRecovery."
    elif t == COGNITO_USER_POOL and p.get("deletionProtection") != "ACTIVE":
        yield f"the user pool's deletionProtection is {p.get('deletionProtection')!r}, not 'ACTIVE'."
    elif t == FIRESTORE_DATABASE:
        if p.get("deleteProtectionState") != "DELETE_PROTECTION_ENABLED":
            yield "the Firestore database's deleteProtectionState is not DELETE_PROTECTION_ENABLED."
        if p.get("pointInTimeRecoveryEnablement") != "POINT_IN_TIME_RECOVERY_ENABLED":
            yield "the Firestore database does not set POINT_IN_TIME_RECOVERY_ENABLED."
    elif t == BIGQUERY_TABLE and p.get("deletionProtection") is False:
        # Unset means the provider's default, true.
        yield "the BigQuery table sets deletionProtection false."
    elif t == BIGQUERY_DATASET and p.get("deleteContentsOnDestroy") is True:
        yield "the BigQuery dataset sets deleteContentsOnDestroy: deleting it would drop every table."
    elif t == S3_BUCKET and p.get("forceDestroy") is True:
        yield "the bucket sets forceDestroy: deleting it would first delete every object."
    elif t == KMS_KEY:
        window = _int(p.get("deletionWindowInDays"))
        if window is not None and window < KMS_MIN_DELETION_WINDOW:
            yield f"deletionWindowInDays is {window}; the minimum is {KMS_MIN_DELETION_WINDOW}."


def check_kms_deletion_window(args: Any) -> Iterator[str]:
    window = _int(args.props.get("deletionWindowInDays")) if args.resource_type == KMS_KEY else None
    # Unset means AWS's default, 30 days.
    if window is not None and window < KMS_PREFERRED_DELETION_WINDOW:
        yield f"deletionWindowInDays is {window}; {KMS_PREFERRED_DELETION_WINDOW} days leave the most time."


def _copies(args: Any) -> Iterator[tuple[str, str | None]]:
    """(what, region) for every place this resource copies data to."""
    t, p = args.resource_type, args.props
    if t == BACKUP_PLAN:
        for rule in _maps(p.get("rules")):
            for copy in _maps(rule.get("copyActions")):
                vault = copy.get("destinationVaultArn")
                yield f"backup copy to {vault}", _arn_region(vault)
    elif t == DYNAMODB_TABLE:
        for replica in _maps(p.get("replicas")):
            yield "global table replica", replica.get("regionName")
    elif t == LOG_SUBSCRIPTION:
        yield f"log subscription to {p.get('destinationArn')}", _arn_region(p.get("destinationArn"))
    elif t == ECR_REPLICATION:
        for rule in _maps(_get(p, "replicationConfiguration", "rules")):
            for dest in _maps(rule.get("destinations")):
                yield "image replication", dest.get("region")
    elif t == S3_BUCKET and p.get("replicationConfiguration") is not None:
        # S3 ARNs carry no region: inline replication cannot be verified from the resource alone.
        yield "inline bucket replication (unverifiable: S3 ARNs carry no region)", None


def check_no_cross_zone_copies(args: Any) -> Iterator[str]:
    zone = resource_zone(args)
    if zone is None or zone == GLOBAL_ZONE or zone not in ZONES:
        return
    for what, region in _copies(args):
        if region is None or not location_in_zone(region, zone):
            yield f"{what} goes to {region or 'an unknown region'}, outside residency zone {zone!r}."


# --- stack checks: relations between resources ------------------------------------------------------


def _bucket_names(r: PolicyResource) -> set[str]:
    return {v for v in (r.props.get("bucket"), r.props.get("id")) if isinstance(v, str) and v}


def check_bucket_guards_present(args: Any) -> Iterator[tuple[str | None, str]]:
    """Every bucket has an encryption configuration and a public access block (matched by name)."""
    buckets = [r for r in args.resources if r.resource_type == S3_BUCKET]
    encrypted = {r.props.get("bucket") for r in args.resources if r.resource_type in S3_SSE}
    blocked = {r.props.get("bucket") for r in args.resources if r.resource_type == S3_PUBLIC_ACCESS_BLOCKS[0]}
    for bucket in buckets:
        names = _bucket_names(bucket)
        if not names & encrypted and bucket.props.get("serverSideEncryptionConfiguration") is None:
            yield bucket.urn, "the bucket has no BucketServerSideEncryptionConfiguration."
        if not names & blocked:
            yield bucket.urn, "the bucket has no BucketPublicAccessBlock."


def check_s3_replication_in_zone(args: Any) -> Iterator[tuple[str | None, str]]:
    """Replication goes only to a bucket of this stack that lives in the same zone.

    An S3 ARN carries no region, so a destination this stack does not manage cannot be verified:
    that is a violation too.
    """
    zone = stack_context(args).zone
    if zone is None or zone == GLOBAL_ZONE or zone not in ZONES:
        return
    by_arn = {r.props.get("arn"): r for r in args.resources if r.resource_type == S3_BUCKET}
    for config in (r for r in args.resources if r.resource_type == S3_REPLICATION):
        for rule in _maps(config.props.get("rules")):
            arn = _get(rule, "destination", "bucket")
            target = by_arn.get(arn)
            if target is None:
                yield (
                    config.urn,
                    f"replicates to {arn}, a bucket this stack does not manage: its zone is unverifiable.",
                )
                continue
            target_zone = _tag(target.props, TAG_RESIDENCY) or zone
            where = resource_location(target)
            if target_zone != zone or where is None or not location_in_zone(where, zone):
                yield (
                    config.urn,
                    (
                        f"replicates to {arn} in {where} (residency {target_zone!r}), "
                        f"outside residency zone {zone!r}."
                    ),
                )


# --- the policies ----------------------------------------------------------------------------------


def _resource_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    remediation: str,
    check: Check,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args):
            report_violation(f"{message} Remediation: {remediation}", None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        validate=validate,
        remediation_steps=remediation,
        config_schema=config_schema,
    )


def _stack_policy(
    name: str, description: str, level: EnforcementLevel, remediation: str, check: StackCheck
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for urn, message in check(args):
            report_violation(f"{message} Remediation: {remediation}", urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        validate=validate,
        remediation_steps=remediation,
    )


RESIDENCY = _resource_policy(
    "residency-zone",
    "A cell's resources live in its residency zone (documented global exceptions only).",
    MANDATORY,
    "create the resource in a region of the cell's zone (`myark:global.zones` in Pulumi.global.yaml), i.e. drop the foreign "
    "`region`/`location`; if it is truly global and holds no user data, add a documented exception "
    "to `residency_exemption` in cells/guardrails/policies.py.",
    check_residency,
)
NO_CROSS_ZONE_COPIES = _resource_policy(
    "no-cross-zone-copies",
    "No backup copy, table replica, log subscription or image replication leaves the residency zone.",
    MANDATORY,
    "keep the copy in the cell's zone: point it at a backup vault, region or destination of that zone.",
    check_no_cross_zone_copies,
)
S3_ENCRYPTION = _resource_policy(
    "s3-encryption",
    "S3 buckets are encrypted with KMS (SSE-S3 only for log buckets that AWS log delivery writes to).",
    MANDATORY,
    "use SecureBucket with kms_key_arn set (sseAlgorithm aws:kms); AES256 is for `*-logs` buckets only.",
    check_s3_encryption,
)
KMS_ROTATION = _resource_policy(
    "kms-key-rotation",
    "KMS keys rotate their key material every year.",
    MANDATORY,
    "set enable_key_rotation=True on the aws.kms.Key.",
    check_kms_rotation,
)
LOG_GROUP_ENCRYPTION = _resource_policy(
    "log-group-encryption",
    "CloudWatch log groups are encrypted with the cell's KMS key.",
    MANDATORY,
    "set kms_key_id to the cell key's ARN (its policy already admits the region's CloudWatch Logs).",
    check_log_group_encryption,
)
SSM_SECURE_STRING = _resource_policy(
    "ssm-secure-string",
    "SSM parameters are SecureString (KMS-encrypted).",
    MANDATORY,
    "set type='SecureString' and key_id to the cell key.",
    check_ssm_secure_string,
)
DYNAMODB_ENCRYPTION = _resource_policy(
    "dynamodb-encryption",
    "DynamoDB tables are encrypted with a KMS key the cell controls.",
    MANDATORY,
    "set server_side_encryption={'enabled': True, 'kms_key_arn': <cell key ARN>}.",
    check_dynamodb_encryption,
)
MESSAGING_ENCRYPTION = _resource_policy(
    "messaging-encryption",
    "SNS topics and SQS queues are encrypted at rest.",
    MANDATORY,
    "set kms_master_key_id to the cell key (SQS may instead set sqs_managed_sse_enabled=True).",
    check_messaging_encryption,
)
CMEK_REQUIRED = _resource_policy(
    "gcp-cmek-required",
    "BigQuery datasets/tables and Firestore databases use a customer-managed key where config asks for one.",
    MANDATORY,
    "set default_encryption_configuration (dataset), encryption_configuration (table) or cmek_config "
    "(Firestore) to the tenant's Cloud KMS key, in the cell's zone.",
    check_cmek_required,
    config_schema=PolicyConfigSchema(
        properties={
            "requireCmek": {
                "type": "boolean",
                "default": False,
                "description": "Require a customer-managed key on all BigQuery and Firestore data.",
            }
        }
    ),
)
CMEK_RECOMMENDED = _resource_policy(
    "gcp-cmek-recommended",
    "Google-managed encryption protects BigQuery and Firestore at rest; a customer-managed key is better.",
    # Advisory: Google encrypts all data at rest by default; CMEK adds control (revocation), not encryption.
    ADVISORY,
    "give the data a Cloud KMS key of the cell's zone (or set dedicatedKmsKey for an enterprise tenant).",
    check_cmek_recommended,
)
PUBLIC_ACCESS_BLOCK = _resource_policy(
    "s3-public-access-block",
    "S3 public access blocks turn on all four flags.",
    MANDATORY,
    "set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to True "
    "(SecureBucket does).",
    check_public_access_block,
)
BUCKET_POLICY_NOT_PUBLIC = _resource_policy(
    "s3-bucket-policy-not-public",
    "No bucket policy allows anyone (Principal *) without a Condition.",
    MANDATORY,
    "name the principal (a role, or a service with an aws:SourceArn/aws:SourceAccount Condition); serve "
    "public content through CloudFront with origin access control.",
    check_bucket_policy_not_public,
)
ACL_NOT_PUBLIC = _resource_policy(
    "s3-acl-not-public",
    "No S3 ACL grants access to everyone or to any AWS account.",
    MANDATORY,
    "remove the ACL: buckets use BucketOwnerEnforced ownership and grant access by policy only.",
    check_acl_not_public,
)
LISTENER_TLS = _resource_policy(
    "alb-listener-tls",
    "Load balancer listeners serve HTTPS with a TLS 1.2+ policy; HTTP only redirects to HTTPS.",
    MANDATORY,
    f"use protocol HTTPS with ssl_policy one of {', '.join(sorted(ALB_SSL_POLICIES))}; make an HTTP "
    "listener's only default action a redirect to HTTPS.",
    check_listener_tls,
)
CLOUDFRONT_TLS = _resource_policy(
    "cloudfront-tls",
    "CloudFront distributions require TLS 1.2+ and HTTPS on every cache behavior.",
    MANDATORY,
    f"use an ACM certificate with minimum_protocol_version {CLOUDFRONT_MIN_TLS} (or newer) and "
    "viewer_protocol_policy 'redirect-to-https' or 'https-only' on every cache behavior.",
    check_cloudfront_tls,
)
WORLD_INGRESS = _resource_policy(
    "security-group-world-ingress",
    "Only the load balancer admits the internet (0.0.0.0/0, ::/0), and only on ports 80 and 443.",
    MANDATORY,
    "admit the edge's ranges or another security group instead (LoadBalancer.allow_to); reach "
    "instances with SSM Session Manager, never SSH/RDP from the internet.",
    check_world_ingress,
)
IAM_NO_ADMIN = _resource_policy(
    "iam-no-admin-wildcards",
    "No IAM policy allows every action on every resource.",
    MANDATORY,
    "grant the actions and resources the workload needs (ApiService.grant); never Action * on Resource *.",
    check_iam_admin,
)
NO_LONG_LIVED_KEYS = _resource_policy(
    "no-long-lived-keys",
    "No IAM user access keys and no GCP service account keys: workloads authenticate keylessly.",
    MANDATORY,
    "use an IAM role (task role, OIDC) on AWS and workload identity federation on GCP.",
    check_long_lived_keys,
)
REQUIRED_TAGS_POLICY = _resource_policy(
    "required-tags",
    f"Taggable resources carry {', '.join(REQUIRED_TAGS)} (GCP labels: "
    f"{', '.join(_label_key(t) for t in REQUIRED_TAGS)}) matching their stack.",
    MANDATORY,
    "let the stack transformation (cells.infra.components.tagging.register_tags) tag the resource; never override "
    "the cell's own tags.",
    check_required_tags,
)
STATEFUL_PROTECT = _resource_policy(
    "stateful-protect",
    "Stateful resources (cells.offline.state_safety.STATEFUL_TYPES) are protected in Pulumi.",
    MANDATORY,
    "create it with pulumi.ResourceOptions(protect=True, retain_on_delete=True).",
    check_stateful_protect,
)
CLOUD_DELETION_PROTECTION = _resource_policy(
    "cloud-deletion-protection",
    "Stateful resources turn on the cloud's own deletion protection (and point-in-time recovery).",
    MANDATORY,
    "set the cloud flag: ALB enable_deletion_protection, log group deletion_protection_enabled, DynamoDB "
    "deletion_protection_enabled and point_in_time_recovery, Cognito deletion_protection='ACTIVE', "
    "Firestore delete_protection_state and point_in_time_recovery_enablement, BigQuery tables "
    "deletion_protection, no force_destroy/delete_contents_on_destroy, KMS deletion_window_in_days >= 7.",
    check_cloud_deletion_protection,
)
KMS_DELETION_WINDOW = _resource_policy(
    "kms-deletion-window",
    "KMS keys wait the longest window (30 days) before deletion.",
    # Advisory: AWS's 7-day minimum is enforced by cloud-deletion-protection; 30 days is a preference.
    ADVISORY,
    f"set deletion_window_in_days={KMS_PREFERRED_DELETION_WINDOW}.",
    check_kms_deletion_window,
)
BUCKET_GUARDS_PRESENT = _stack_policy(
    "s3-bucket-guards-present",
    "Every S3 bucket has an encryption configuration and a public access block.",
    MANDATORY,
    "create buckets with cells.infra.components.bucket.SecureBucket, which adds both.",
    check_bucket_guards_present,
)
S3_REPLICATION_IN_ZONE = _stack_policy(
    "s3-replication-in-zone",
    "S3 replication targets only buckets of the same stack in the same residency zone.",
    MANDATORY,
    "replicate to a bucket this stack creates in a region of the cell's zone, or do not replicate.",
    check_s3_replication_in_zone,
)

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


def check_alarm_actions(args: Any) -> Iterator[str]:
    """An alarm that notifies nobody is a dashboard colour: every alarm must act when it fires."""
    if args.resource_type not in (METRIC_ALARM, COMPOSITE_ALARM):
        return
    if args.props.get("actionsEnabled") is False:
        yield "the alarm has actionsEnabled=false."
    elif not _items(args.props.get("alarmActions")):
        yield "the alarm has no alarmActions: it notifies nobody when it fires."


ALARM_ACTIONS = _resource_policy(
    "alarm-actions",
    "Every CloudWatch alarm notifies someone when it fires (alarm actions set and enabled).",
    MANDATORY,
    "set alarm_actions (and ok_actions) to the cell's alarm topic (cells.infra.components.alarms.CellAlarms.topic).",
    check_alarm_actions,
)

ALL_POLICIES: list[Policy] = [
    RESIDENCY,
    NO_CROSS_ZONE_COPIES,
    S3_REPLICATION_IN_ZONE,
    S3_ENCRYPTION,
    BUCKET_GUARDS_PRESENT,
    KMS_ROTATION,
    LOG_GROUP_ENCRYPTION,
    SSM_SECURE_STRING,
    DYNAMODB_ENCRYPTION,
    MESSAGING_ENCRYPTION,
    CMEK_REQUIRED,
    CMEK_RECOMMENDED,
    PUBLIC_ACCESS_BLOCK,
    BUCKET_POLICY_NOT_PUBLIC,
    ACL_NOT_PUBLIC,
    LISTENER_TLS,
    CLOUDFRONT_TLS,
    WORLD_INGRESS,
    IAM_NO_ADMIN,
    NO_LONG_LIVED_KEYS,
    REQUIRED_TAGS_POLICY,
    STATEFUL_PROTECT,
    CLOUD_DELETION_PROTECTION,
    KMS_DELETION_WINDOW,
]

ALL_POLICIES.append(ALARM_ACTIONS)  # cells you can watch
POLICIES_BY_NAME = {p.name: p for p in ALL_POLICIES}


# --- the offline world: the same policies over a recorded plan ---------------------------------------


class PlanResourceArgs(ResourceValidationArgs):
    """pulumi_policy's own argument bag, plus the stack config a real run reads from PULUMI_CONFIG."""

    def __init__(self, *, stack_config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack_config = stack_config


class PlanStackArgs(StackValidationArgs):
    def __init__(self, *, stack_config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack_config = stack_config


def _plain(value: Any) -> Any:
    """A deep, plain copy (dicts and lists), the shape the engine deserializes properties into."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def _options(protect: bool, parent: str | None, aliases: Sequence[str]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=list(aliases),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def make_args(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    urn: str | None = None,
    protect: bool = False,
    provider_props: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    parent: str | None = None,
    aliases: Sequence[str] = (),
) -> PlanResourceArgs:
    """The args the engine would send for one resource (props proxied exactly as the engine's are)."""
    pkg = resource_type.split(":")[0]
    provider = None
    if provider_props is not None:
        provider = PolicyProviderResource(
            f"pulumi:providers:{pkg}",
            unknown_checking_proxy(_plain(provider_props)),
            f"urn:pulumi:stack::project::pulumi:providers:{pkg}::default",
            "default",
        )
    return PlanResourceArgs(
        resource_type=resource_type,
        props=unknown_checking_proxy(_plain(props)),
        urn=urn or f"urn:pulumi:stack::project::{resource_type}::{name}",
        name=name,
        opts=_options(protect, parent, aliases),
        provider=provider,
        config=dict(config or {}),
        stack_config=stack_config if stack_config is not None else {},
    )


def make_stack_args(
    resources: Sequence[PolicyResource],
    *,
    stack_config: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> PlanStackArgs:
    return PlanStackArgs(
        resources=list(resources),
        config=dict(config or {}),
        stack_config=stack_config if stack_config is not None else {},
    )


def make_policy_resource(
    resource_type: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    urn: str | None = None,
    protect: bool = False,
    provider_props: Mapping[str, Any] | None = None,
) -> PolicyResource:
    one = make_args(resource_type, props, name=name, urn=urn, protect=protect, provider_props=provider_props)
    return PolicyResource(
        one.resource_type, one.props, one.urn, one.name, one.opts, one.provider, None, [], {}
    )


def _stack_file_config(stack: str) -> Mapping[str, Any]:
    from cells.core.config import ConfigError, read_stack_file

    try:
        return read_stack_file(stack).values
    except ConfigError:
        return {}


def _level(policy: Policy, config: Mapping[str, Any]) -> str:
    level = str(config.get("enforcementLevel", (policy.enforcement_level or ADVISORY).value))
    # As the engine does: a remediation that still finds a violation reports it as mandatory.
    return EnforcementLevel.MANDATORY.value if level == EnforcementLevel.REMEDIATE.value else level


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


def check_plan(
    plan: Plan,
    stack_config: Mapping[str, Any] | None = None,
    policy_config: Mapping[str, Mapping[str, Any] | str] | None = None,
    policies: Sequence[Policy] | None = None,
) -> list[dict[str, str]]:
    """Run the policies over a recorded plan: `[{"policy", "urn", "level", "message"}]`.

    Resource policies see each cloud resource's inputs, options and provider (the provider's recorded
    inputs, or the plan's resolved region), as `Analyze` does. Stack policies see outputs, as
    `AnalyzeStack` does: offline, the mock engine's outputs for the same inputs. `stack_config`
    defaults to the stack's `Pulumi.<stack>.yaml`; `policy_config` mirrors `--policy-pack-config`
    (per policy: an enforcement level, or properties with an optional `enforcementLevel`).
    """
    from cells.offline.mocks import MyarkMocks

    config_values = stack_config if stack_config is not None else _stack_file_config(plan.stack)
    resources = [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:")]
    providers = {r.urn: r for r in plan.resources if r.type.startswith("pulumi:providers:")}
    mocks = MyarkMocks()
    violations: list[dict[str, str]] = []

    def provider_props(r: PlannedResource) -> Mapping[str, Any]:
        found = providers.get(r.provider or "")
        props = dict(found.inputs) if found else {}
        if r.region and "region" not in props:
            props["region"] = r.region
        return props

    def resource_args(r: PlannedResource, config: Mapping[str, Any]) -> PlanResourceArgs:
        return make_args(
            r.type,
            r.inputs,
            name=r.name,
            urn=r.urn,
            protect=r.protect,
            provider_props=provider_props(r),
            stack_config=config_values,
            config=config,
            parent=r.parent,
            aliases=r.aliases,
        )

    def outputs(r: PlannedResource) -> PolicyResource:
        _, state = mocks.outputs_for(r.type, r.name, dict(r.inputs), r.region)
        return make_policy_resource(
            r.type, state, name=r.name, urn=r.urn, protect=r.protect, provider_props=provider_props(r)
        )

    stack_resources: list[PolicyResource] | None = None
    for policy in policies if policies is not None else ALL_POLICIES:
        raw = (policy_config or {}).get(policy.name, {})
        config = {"enforcementLevel": raw} if isinstance(raw, str) else dict(raw)
        level = _level(policy, config)
        if level == EnforcementLevel.DISABLED.value:
            continue

        def reporter(default_urn: str, _name: str = policy.name, _level: str = level) -> ReportViolation:
            def report(message: str, urn: str | None = None) -> None:
                violations.append(
                    {"policy": _name, "urn": urn or default_urn, "level": _level, "message": message}
                )

            return report

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                _run(policy.validate(resource_args(r, config), reporter(r.urn)))
        elif isinstance(policy, StackValidationPolicy):
            if stack_resources is None:
                stack_resources = [outputs(r) for r in resources]
            stack_urn = (
                f"urn:pulumi:{plan.stack}::{plan.project}::pulumi:pulumi:Stack::{plan.project}-{plan.stack}"
            )
            args = make_stack_args(stack_resources, stack_config=config_values, config=config)
            _run(policy.validate(args, reporter(stack_urn)))
    return violations
