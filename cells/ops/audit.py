"""Residency audit of a live cell: everything tagged with the cell, where it lives, how it is kept.

The shell (`discover_regions`, `collect`) asks AWS; the core (`audit`) judges the facts it gathered
against the cell's residency zone (docs/architecture.md, "Residency at each layer"):

- every resource tagged `myark:cell=<cell>` lives in a region of the cell's zone. Exempt: global
  services (IAM, CloudFront, Route53, ... `cells.core.regions.AWS_GLOBAL_MODULES`: their ARNs name no region),
  and an ACM certificate in us-east-1. CloudFront only takes certificates from us-east-1, and an ACM
  certificate can only be attached in its own region, so a tagged us-east-1 certificate of a non-us
  cell can only be the frontend's CloudFront certificate: it holds no user data.
- no S3 replication, DynamoDB replica or AWS Backup copy leaves the zone;
- buckets are encrypted, block public access (all four flags), keep versions;
- DynamoDB tables have point-in-time recovery and deletion protection;
- nothing named for the cell goes untagged (found by name in every region: S3, DynamoDB, ECR,
  CloudWatch Logs, RDS instances, clusters and snapshots, EFS, AWS Backup vaults and plans);
- no RDS read replica or automated-backup replication, EFS replication, ECR registry replication or
  CloudWatch Logs subscription sends the cell's data outside the zone;
- on GCP, every asset of the cell's project (Cloud Asset Inventory) lives in the zone (`gcp_assets`).

An account where nothing of the cell is found is not clean: it is the wrong account, or the cell is
not deployed there (exit 3 in the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from cells.core.naming import TAG_CELL
from cells.core.regions import AWS_GLOBAL_MODULES, CLOUDFRONT_CERT_REGION, REGIONS, ZONES, location_in_zone
from cells.ops.aws import DENIED, Aws, AwsError
from cells.ops.report import table

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

# What each finding kind means; the README lists this table.
KINDS = {
    "outside-zone": "a resource of the cell lives in a region outside the cell's residency zone",
    "region-unknown": "the ARN names no region and its service is not a known global one",
    "replication-outside-zone": "an S3 replication rule copies objects to a bucket outside the zone",
    "replication-unverified": "an S3 replication destination's region cannot be read",
    "replica-outside-zone": "a DynamoDB global-table replica lives outside the zone",
    "backup-copy-outside-zone": "an AWS Backup plan copies recovery points to a vault outside the zone",
    "bucket-unencrypted": "an S3 bucket has no default encryption",
    "bucket-public-access": "an S3 bucket does not block public access with all four flags",
    "bucket-unversioned": "an S3 bucket's versioning is not Enabled",
    "table-pitr-off": "a DynamoDB table has point-in-time recovery off",
    "table-deletion-protection-off": "a DynamoDB table has deletion protection off",
    "copy-outside-zone": "an RDS replica or backup replication, EFS replication, ECR replication or Logs "
    "subscription sends the cell's data to a region outside the zone",
    "untagged": f"a resource named for the cell has no {TAG_CELL} tag (cost, audit and the SCPs cannot see it)",
    "gcp-outside-zone": "an asset of the cell's GCP project lives outside the zone (Cloud Asset Inventory)",
    "gcp-unaudited": "the cell's GCP project could not be searched (no token or no access)",
}


@dataclass(frozen=True)
class Arn:
    service: str
    region: str
    resource: str


def parse_arn(arn: str) -> Arn:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return Arn(service="", region="", resource=arn)
    return Arn(service=parts[2], region=parts[3], resource=parts[5])


@dataclass(frozen=True)
class Finding:
    kind: str
    arn: str
    region: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Exemption:
    arn: str
    region: str
    reason: str


@dataclass(frozen=True)
class ReplicationTarget:
    bucket_arn: str
    region: str | None  # None: the destination's location could not be read


@dataclass(frozen=True)
class BucketFacts:
    name: str
    region: str
    encrypted: bool
    public_access_block: Mapping[str, bool]  # empty when the bucket has no block configured
    versioning: str  # "Enabled", "Suspended", or "" (never enabled)
    replication: tuple[ReplicationTarget, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


@dataclass(frozen=True)
class TableFacts:
    arn: str
    region: str
    pitr: bool
    deletion_protection: bool
    replica_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackupPlanFacts:
    arn: str
    region: str
    copy_vaults: tuple[str, ...]  # destination vault ARNs of the plan's copy actions


@dataclass(frozen=True)
class CopyFacts:
    """Something that copies the cell's data elsewhere: what, from where, to which region."""

    arn: str
    region: str
    what: str  # e.g. "RDS read replica", "ECR registry replication"
    destination: str  # ARN or name of the copy
    destination_region: str


@dataclass(frozen=True)
class GcpAsset:
    name: str
    asset_type: str
    location: str


@dataclass(frozen=True)
class Inventory:
    """What the account holds for one cell: the facts `audit` judges."""

    cell: str
    zone: str
    regions: tuple[str, ...]  # regions the tagging API was asked
    arns: tuple[str, ...]  # tagged resources other than S3 buckets (and untagged ones named for the cell)
    buckets: tuple[BucketFacts, ...] = ()
    tables: tuple[TableFacts, ...] = ()
    backup_plans: tuple[BackupPlanFacts, ...] = ()
    untagged: tuple[str, ...] = ()  # ARNs named for the cell without its tag (also in arns or buckets)
    copies: tuple[CopyFacts, ...] = ()
    gcp_project: str = ""
    gcp_assets: tuple[GcpAsset, ...] = ()
    gcp_problem: str = ""  # why the GCP side could not be searched ("" when it was, or was skipped)

    @property
    def empty(self) -> bool:
        """Nothing of the cell in this account (and, if searched, its GCP project is empty)."""
        return not (self.arns or self.buckets or self.gcp_assets)


@dataclass(frozen=True)
class AuditResult:
    inventory: Inventory
    findings: list[Finding] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


# ---- the core: plain facts in, findings out -----------------------------------------------------


def _zone_text(zone: str) -> str:
    return f"zone {zone} allows {', '.join(ZONES[zone].aws_regions)}"


def placement(arn: str, region: str, zone: str) -> Finding | Exemption | None:
    """Judge where one resource lives. `region` is where it really is (for S3: the bucket's location)."""
    service = parse_arn(arn).service
    if service in AWS_GLOBAL_MODULES:
        return Exemption(arn, region or "global", f"{service} is a global service")
    if region in ZONES[zone].aws_regions:
        return None
    if service == "acm" and region == CLOUDFRONT_CERT_REGION:
        return Exemption(arn, region, "CloudFront certificate: must be in us-east-1, holds no user data")
    if not region:
        return Finding(
            "region-unknown", arn, "", "the ARN names no region; check where this service keeps its data"
        )
    return Finding("outside-zone", arn, region, f"lives in {region}; {_zone_text(zone)}")


def bucket_findings(bucket: BucketFacts, zone: str) -> list[Finding]:
    out: list[Finding] = []

    def add(kind: str, detail: str) -> None:
        out.append(Finding(kind, bucket.arn, bucket.region, detail))

    for target in bucket.replication:
        if target.region is None:
            add(
                "replication-unverified",
                f"replicates to {target.bucket_arn}, whose location cannot be read; check that it is in "
                f"{_zone_text(zone).removeprefix('zone ')}",
            )
        elif target.region not in ZONES[zone].aws_regions:
            add(
                "replication-outside-zone",
                f"replicates to {target.bucket_arn} in {target.region}; {_zone_text(zone)}",
            )
    if not bucket.encrypted:
        add("bucket-unencrypted", "no default encryption; set SSE-KMS (aws:kms) as the bucket's default")
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if not bucket.public_access_block.get(flag, False)]
    if off:
        add("bucket-public-access", f"public access block off: {', '.join(off)}")
    if bucket.versioning != "Enabled":
        add("bucket-unversioned", f"versioning is {bucket.versioning or 'never enabled'}; enable it")
    return out


def table_findings(t: TableFacts, zone: str) -> list[Finding]:
    out = [
        Finding("replica-outside-zone", t.arn, t.region, f"has a replica in {r}; {_zone_text(zone)}")
        for r in t.replica_regions
        if r not in ZONES[zone].aws_regions
    ]
    if not t.pitr:
        out.append(Finding("table-pitr-off", t.arn, t.region, "point-in-time recovery is off; enable it"))
    if not t.deletion_protection:
        out.append(
            Finding("table-deletion-protection-off", t.arn, t.region, "deletion protection is off; enable it")
        )
    return out


def backup_findings(plan: BackupPlanFacts, zone: str) -> list[Finding]:
    return [
        Finding(
            "backup-copy-outside-zone",
            plan.arn,
            plan.region,
            f"copies recovery points to {vault} in {parse_arn(vault).region}; {_zone_text(zone)}",
        )
        for vault in plan.copy_vaults
        if parse_arn(vault).region not in ZONES[zone].aws_regions
    ]


def copy_findings(copy: CopyFacts, zone: str) -> Finding | None:
    if copy.destination_region in ZONES[zone].aws_regions:
        return None
    return Finding(
        "copy-outside-zone",
        copy.arn,
        copy.region,
        f"{copy.what} to {copy.destination} in {copy.destination_region or 'an unknown region'}; "
        f"{_zone_text(zone)}",
    )


def gcp_findings(inv: Inventory) -> list[Finding]:
    if inv.gcp_problem:
        return [
            Finding(
                "gcp-unaudited",
                f"//cloudresourcemanager.googleapis.com/projects/{inv.gcp_project}",
                "",
                inv.gcp_problem,
            )
        ]
    return [
        Finding(
            "gcp-outside-zone",
            a.name,
            a.location,
            f"{a.asset_type} in {a.location}; zone {inv.zone} allows {', '.join(ZONES[inv.zone].gcp_locations)} "
            "(and global resources that hold no data)",
        )
        for a in inv.gcp_assets
        if not gcp_location_ok(a.location, inv.zone)
    ]


def gcp_location_ok(location: str, zone: str) -> bool:
    """`global` holds no user data (IAM, networks, projects); anything else must be in the zone."""
    return location == "global" or location_in_zone(location, zone)


def _arn_region(arn: str, inv: Inventory) -> str:
    for b in inv.buckets:
        if b.arn == arn:
            return b.region
    return parse_arn(arn).region


def audit(inv: Inventory) -> AuditResult:
    """Every finding about the cell's resources, in a stable order (by kind as `KINDS` lists them, then ARN)."""
    result = AuditResult(inventory=inv)
    located = [(arn, parse_arn(arn).region) for arn in inv.arns] + [(b.arn, b.region) for b in inv.buckets]
    for arn, region in located:
        verdict = placement(arn, region, inv.zone)
        if isinstance(verdict, Finding):
            result.findings.append(verdict)
        elif isinstance(verdict, Exemption):
            result.exemptions.append(verdict)
    for bucket in inv.buckets:
        result.findings.extend(bucket_findings(bucket, inv.zone))
    for t in inv.tables:
        result.findings.extend(table_findings(t, inv.zone))
    for plan in inv.backup_plans:
        result.findings.extend(backup_findings(plan, inv.zone))
    result.findings.extend(f for f in (copy_findings(c, inv.zone) for c in inv.copies) if f)
    result.findings.extend(
        Finding(
            "untagged",
            arn,
            _arn_region(arn, inv),
            f"named for {inv.cell} but not tagged {TAG_CELL}={inv.cell}",
        )
        for arn in inv.untagged
    )
    result.findings.extend(gcp_findings(inv))
    order = list(KINDS)  # residency leaks first, then hardening
    result.findings.sort(key=lambda f: (order.index(f.kind), f.arn))
    result.exemptions.sort(key=lambda e: e.arn)
    return result


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def render(result: AuditResult) -> str:
    inv = result.inventory
    lines = [
        f"Residency audit of cell {inv.cell} ({_zone_text(inv.zone)})",
        f"Scanned {_count(len(inv.regions), 'region')}: {_count(len(inv.arns) + len(inv.buckets), 'resource')} "
        f"of the cell, tagged {TAG_CELL}={inv.cell} or named for it ({_count(len(inv.buckets), 'S3 bucket')}, "
        f"{_count(len(inv.tables), 'DynamoDB table')}, {_count(len(inv.backup_plans), 'backup plan')}"
        f"; {len(inv.untagged)} untagged).",
    ]
    if inv.gcp_project and not inv.gcp_problem:
        lines.append(
            f"GCP project {inv.gcp_project}: {_count(len(inv.gcp_assets), 'asset')} (Cloud Asset Inventory)."
        )
    if inv.empty:
        lines.append(nothing_found(inv))
        return "\n".join(lines)
    lines += [f"Exempt: {e.arn} ({e.reason})" for e in result.exemptions]
    if result.clean:
        lines.append("Clean: no findings.")
        return "\n".join(lines)
    rows = [(f.kind, f.region or "-", f.arn, f.detail) for f in result.findings]
    lines += ["", table(("KIND", "REGION", "ARN", "DETAIL"), rows), ""]
    lines.append(f"{_count(len(result.findings), 'finding')}.")
    return "\n".join(lines)


def nothing_found(inv: Inventory) -> str:
    return (
        f"Nothing of cell {inv.cell} found in this account: no resource tagged {TAG_CELL}={inv.cell} or named "
        f"for it in {_count(len(inv.regions), 'region')}. These credentials see another account, or the cell "
        "is not deployed; this is not a clean audit."
    )


def to_json(result: AuditResult) -> list[dict[str, str]]:
    return [f.to_json() for f in result.findings]


# ---- the shell: AWS calls that gather an Inventory ---------------------------------------------


def discover_regions(aws: Aws, home_region: str) -> tuple[list[str], str | None]:
    """The account's enabled regions, and a note when ec2:DescribeRegions is denied (fallback list)."""
    try:
        response = aws.call("ec2", home_region, "describe_regions")
    except AwsError as exc:
        if exc.code not in DENIED:
            raise
        note = (
            "ec2:DescribeRegions is denied; scanning only the regions cells.core.regions knows "
            f"({', '.join(REGIONS)}). Allow ec2:DescribeRegions to cover every enabled region."
        )
        return list(REGIONS), note
    return sorted(r["RegionName"] for r in response["Regions"]), None


def tagged_arns(aws: Aws, cell: str, regions: Iterable[str]) -> list[str]:
    """ARNs of everything the tagging API knows with `myark:cell=<cell>`, across `regions`."""
    seen: dict[str, None] = {}
    for region in regions:
        pages = aws.pages(
            "resourcegroupstaggingapi",
            region,
            "get_resources",
            TagFilters=[{"Key": TAG_CELL, "Values": [cell]}],
            ResourcesPerPage=100,
        )
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                seen.setdefault(mapping["ResourceARN"], None)
    return list(seen)


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's answer as a region: empty means us-east-1, the legacy `EU` eu-west-1."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


def _tags(tag_set: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_set}


def named_for(name: str, cell: str) -> bool:
    """True when `name` carries the cell's name as a whole word (`myark-eu-central-1-docs`, not `eu-central-10`)."""
    return re.search(rf"(^|[^a-z0-9]){re.escape(cell.lower())}($|[^a-z0-9])", name.lower()) is not None


def collect_buckets(
    aws: Aws, cell: str, home_region: str, untagged: list[str] | None = None
) -> list[BucketFacts]:
    """S3 buckets tagged with the cell, or named for it (listed in `untagged` when not tagged): the tagging
    API does not reliably report buckets by region."""
    locations: dict[str, str] = {}
    for page in aws.pages("s3", home_region, "list_buckets"):
        for b in page.get("Buckets", []):
            region = b.get("BucketRegion")
            if not region:
                loc = aws.call("s3", home_region, "get_bucket_location", Bucket=b["Name"])
                region = bucket_region(loc.get("LocationConstraint"))
            locations[b["Name"]] = region
    facts = []
    for name, region in locations.items():
        tagging = aws.call("s3", region, "get_bucket_tagging", Bucket=name, absent=("NoSuchTagSet",))
        if _tags((tagging or {}).get("TagSet", [])).get(TAG_CELL) != cell:
            if not named_for(name, cell):
                continue
            if untagged is not None:
                untagged.append(f"arn:aws:s3:::{name}")
        facts.append(_bucket_facts(aws, name, region, locations))
    return facts


def _bucket_facts(aws: Aws, name: str, region: str, known: Mapping[str, str]) -> BucketFacts:
    encryption = aws.call(
        "s3",
        region,
        "get_bucket_encryption",
        Bucket=name,
        absent=("ServerSideEncryptionConfigurationNotFoundError",),
    )
    rules = ((encryption or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
    pab = aws.call(
        "s3", region, "get_public_access_block", Bucket=name, absent=("NoSuchPublicAccessBlockConfiguration",)
    )
    versioning = aws.call("s3", region, "get_bucket_versioning", Bucket=name)
    replication = aws.call(
        "s3", region, "get_bucket_replication", Bucket=name, absent=("ReplicationConfigurationNotFoundError",)
    )
    targets = []
    for rule in ((replication or {}).get("ReplicationConfiguration") or {}).get("Rules", []):
        dest_arn = rule.get("Destination", {}).get("Bucket", "")
        targets.append(ReplicationTarget(dest_arn, _destination_region(aws, dest_arn, region, known)))
    return BucketFacts(
        name=name,
        region=region,
        encrypted=bool(rules),
        public_access_block=dict((pab or {}).get("PublicAccessBlockConfiguration") or {}),
        versioning=versioning.get("Status", ""),
        replication=tuple(targets),
    )


def _destination_region(aws: Aws, dest_arn: str, region: str, known: Mapping[str, str]) -> str | None:
    dest = dest_arn.split(":::", 1)[-1]
    if dest in known:
        return known[dest]
    # Another account's bucket may refuse to say where it is: reported as unverified, not an error.
    loc = aws.call("s3", region, "get_bucket_location", Bucket=dest, absent=(*DENIED, "NoSuchBucket"))
    return None if loc is None else bucket_region(loc.get("LocationConstraint"))


def collect_table(aws: Aws, arn: str) -> TableFacts:
    parsed = parse_arn(arn)
    name = parsed.resource.removeprefix("table/")
    desc = aws.call("dynamodb", parsed.region, "describe_table", TableName=name)["Table"]
    backups = aws.call("dynamodb", parsed.region, "describe_continuous_backups", TableName=name)
    pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    return TableFacts(
        arn=arn,
        region=parsed.region,
        pitr=pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        deletion_protection=bool(desc.get("DeletionProtectionEnabled")),
        replica_regions=tuple(
            r["RegionName"] for r in desc.get("Replicas", []) if r["RegionName"] != parsed.region
        ),
    )


def collect_backup_plans(
    aws: Aws, cell: str, regions: Iterable[str], tagged: Iterable[str]
) -> list[BackupPlanFacts]:
    """Backup plans of the cell: tagged ones the tagging API reported, and those listed in `regions`."""
    arns = {a for a in tagged if parse_arn(a).service == "backup" and ":backup-plan:" in a}
    for region in regions:
        for page in aws.pages("backup", region, "list_backup_plans"):
            for plan in page.get("BackupPlansList", []):
                tags = aws.call("backup", region, "list_tags", ResourceArn=plan["BackupPlanArn"])
                if tags.get("Tags", {}).get(TAG_CELL) == cell or named_for(
                    plan.get("BackupPlanName", ""), cell
                ):
                    arns.add(plan["BackupPlanArn"])
    plans = []
    for arn in sorted(arns):
        region = parse_arn(arn).region
        plan_id = arn.rsplit(":", 1)[-1]
        plan = aws.call("backup", region, "get_backup_plan", BackupPlanId=plan_id)["BackupPlan"]
        vaults = tuple(
            action["DestinationBackupVaultArn"]
            for rule in plan.get("Rules", [])
            for action in rule.get("CopyActions", [])
        )
        plans.append(BackupPlanFacts(arn=arn, region=region, copy_vaults=vaults))
    return plans


def _is_table(arn: str) -> bool:
    parsed = parse_arn(arn)
    return (
        parsed.service == "dynamodb"
        and parsed.resource.startswith("table/")
        and parsed.resource.count("/") == 1
    )


def named_resources(aws: Aws, cell: str, regions: Iterable[str], account: str) -> dict[str, str]:
    """ARN -> region of every resource named for the cell, tagged or not, in `regions`: the kinds that
    hold or copy data (the tagging API only sees what is tagged)."""
    found: dict[str, str] = {}

    def add(arn: str, region: str, *names: str) -> None:
        if any(named_for(n, cell) for n in names if n):
            found[arn.removesuffix(":*")] = region

    for region in regions:
        for page in aws.pages("dynamodb", region, "list_tables"):
            for name in page.get("TableNames", []):
                add(f"arn:aws:dynamodb:{region}:{account}:table/{name}", region, name)
        for page in aws.pages("ecr", region, "describe_repositories"):
            for repo in page.get("repositories", []):
                add(repo["repositoryArn"], region, repo["repositoryName"])
        for page in aws.pages("logs", region, "describe_log_groups"):
            for group in page.get("logGroups", []):
                add(group["arn"], region, group["logGroupName"])
        for page in aws.pages("rds", region, "describe_db_instances"):
            for db in page.get("DBInstances", []):
                add(db["DBInstanceArn"], region, db["DBInstanceIdentifier"])
        for page in aws.pages("rds", region, "describe_db_clusters"):
            for db in page.get("DBClusters", []):
                add(db["DBClusterArn"], region, db["DBClusterIdentifier"])
        for page in aws.pages("rds", region, "describe_db_snapshots"):
            for snap in page.get("DBSnapshots", []):
                add(
                    snap["DBSnapshotArn"],
                    region,
                    snap["DBSnapshotIdentifier"],
                    snap.get("DBInstanceIdentifier", ""),
                )
        for page in aws.pages("rds", region, "describe_db_cluster_snapshots"):
            for snap in page.get("DBClusterSnapshots", []):
                add(
                    snap["DBClusterSnapshotArn"],
                    region,
                    snap["DBClusterSnapshotIdentifier"],
                    snap.get("DBClusterIdentifier", ""),
                )
        for page in aws.pages("efs", region, "describe_file_systems"):
            for fs in page.get("FileSystems", []):
                add(fs["FileSystemArn"], region, fs.get("Name", ""))
        for page in aws.pages("backup", region, "list_backup_vaults"):
            for vault in page.get("BackupVaultList", []):
                add(vault["BackupVaultArn"], region, vault["BackupVaultName"])
    return found


def collect_copies(aws: Aws, arns: Sequence[str]) -> list[CopyFacts]:
    """Where the cell's RDS databases, EFS file systems, ECR repositories and log groups copy their data."""
    out: list[CopyFacts] = []
    ecr_repos: dict[str, list[str]] = {}
    for arn in arns:
        a = parse_arn(arn)
        if a.service == "rds" and a.resource.startswith("db:"):
            found = aws.call(
                "rds",
                a.region,
                "describe_db_instances",
                DBInstanceIdentifier=arn,
                absent=("DBInstanceNotFound",),
            )
            for db in (found or {}).get("DBInstances", []):
                for replica in db.get("ReadReplicaDBInstanceIdentifiers", []):
                    out.append(
                        CopyFacts(
                            arn, a.region, "RDS read replica", replica, parse_arn(replica).region or a.region
                        )
                    )
                for rep in db.get("DBInstanceAutomatedBackupsReplications", []):
                    dest = rep.get("DBInstanceAutomatedBackupsArn", "")
                    out.append(
                        CopyFacts(
                            arn, a.region, "RDS automated backup replication", dest, parse_arn(dest).region
                        )
                    )
        elif a.service == "rds" and a.resource.startswith("cluster:"):
            found = aws.call(
                "rds",
                a.region,
                "describe_db_clusters",
                DBClusterIdentifier=arn,
                absent=("DBClusterNotFoundFault",),
            )
            for db in (found or {}).get("DBClusters", []):
                for replica in db.get("ReadReplicaIdentifiers", []):
                    out.append(
                        CopyFacts(
                            arn,
                            a.region,
                            "RDS cluster replica",
                            replica,
                            parse_arn(replica).region or a.region,
                        )
                    )
        elif a.service == "elasticfilesystem" and a.resource.startswith("file-system/"):
            found = aws.call(
                "efs",
                a.region,
                "describe_replication_configurations",
                FileSystemId=a.resource.removeprefix("file-system/"),
                absent=("ReplicationNotFound", "FileSystemNotFound"),
            )
            for rep in (found or {}).get("Replications", []):
                for dest in rep.get("Destinations", []):
                    out.append(
                        CopyFacts(
                            arn,
                            a.region,
                            "EFS replication",
                            dest.get("FileSystemId", "?"),
                            dest.get("Region", ""),
                        )
                    )
        elif a.service == "ecr" and a.resource.startswith("repository/"):
            ecr_repos.setdefault(a.region, []).append(a.resource.removeprefix("repository/"))
        elif a.service == "logs" and a.resource.startswith("log-group:"):
            group = a.resource.removeprefix("log-group:").removesuffix(":*")
            for page in aws.pages("logs", a.region, "describe_subscription_filters", logGroupName=group):
                for f in page.get("subscriptionFilters", []):
                    dest = f.get("destinationArn", "")
                    out.append(
                        CopyFacts(arn, a.region, "CloudWatch Logs subscription", dest, parse_arn(dest).region)
                    )
    for region, repos in ecr_repos.items():
        registry = aws.call("ecr", region, "describe_registry")
        for rule in (registry.get("replicationConfiguration") or {}).get("rules", []):
            prefixes = [
                f["filter"]
                for f in rule.get("repositoryFilters", [])
                if f.get("filterType") == "PREFIX_MATCH"
            ]
            hit = [r for r in repos if not prefixes or any(r.startswith(p) for p in prefixes)]
            for dest in rule.get("destinations", []):
                for repo in hit:
                    arn = f"arn:aws:ecr:{region}:{registry.get('registryId', '')}:repository/{repo}"
                    out.append(
                        CopyFacts(
                            arn,
                            region,
                            "ECR registry replication",
                            f"registry {dest.get('registryId', '?')}",
                            dest.get("region", ""),
                        )
                    )
    return out


GcpSearch = Callable[[str], list[GcpAsset]]  # project -> assets; raises GcpUnavailable


class GcpUnavailable(Exception):
    """The GCP project could not be searched: the message says why and what to check."""


def collect(
    aws: Aws,
    cell: str,
    zone: str,
    home_region: str,
    regions: Sequence[str],
    gcp_project: str = "",
    gcp: GcpSearch | str | None = None,
) -> Inventory:
    """`gcp`: how to search the project (a callable), why it cannot be searched (a message), or None (skipped)."""
    arns = tagged_arns(aws, cell, regions)
    others = [a for a in arns if parse_arn(a).service != "s3"]
    untagged: list[str] = []
    buckets = collect_buckets(aws, cell, home_region, untagged)
    account = aws.call("sts", home_region, "get_caller_identity")["Account"]
    tagged = set(others)
    named = named_resources(aws, cell, regions, account)
    untagged += [a for a in named if a not in tagged]
    others += [a for a in named if a not in tagged]
    tables = [collect_table(aws, a) for a in others if _is_table(a)]
    plans = collect_backup_plans(aws, cell, regions, others)
    listed = [p.arn for p in plans if p.arn not in others]
    copies = collect_copies(aws, others)
    assets: list[GcpAsset] = []
    problem = ""
    if isinstance(gcp, str):
        problem = gcp
    elif gcp is not None:
        try:
            assets = gcp(gcp_project)
        except GcpUnavailable as exc:
            problem = str(exc)
    return Inventory(
        cell=cell,
        zone=zone,
        regions=tuple(regions),
        arns=(*others, *listed),
        buckets=tuple(buckets),
        tables=tuple(tables),
        backup_plans=tuple(plans),
        untagged=tuple(untagged),
        copies=tuple(copies),
        gcp_project=gcp_project if gcp is not None else "",
        gcp_assets=tuple(assets),
        gcp_problem=problem,
    )


def run(
    aws: Aws,
    cell: str,
    zone: str,
    home_region: str,
    regions: Sequence[str] | None,
    gcp_project: str = "",
    gcp: GcpSearch | str | None = None,
) -> tuple[AuditResult, str | None]:
    """Audit the cell over `regions` (default: every enabled region). Returns the result and a note."""
    note = None
    if regions is None:
        regions, note = discover_regions(aws, home_region)
    return audit(collect(aws, cell, zone, home_region, regions, gcp_project, gcp)), note
