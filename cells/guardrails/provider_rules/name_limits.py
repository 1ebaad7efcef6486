"""The services' name limits, and the name a resource gets after the engine's autonaming.

`AWS_NAMES` and `GCP_NAMES` map a resource type to the field that carries its name and what the
service accepts there; `planned_name` says which name the service receives (the explicit one, or
the logical name plus the random suffix pulumi-aws appends). The `names` rules check them and
`markdown_table` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cells.offline.plan import PlannedResource

# pulumi-aws (Terraform bridge) autonaming: the logical name, "-", then 7 random characters.
AUTONAME_RANDOM = "abcdefg"
AUTONAME_SOURCE = "https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming"


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
