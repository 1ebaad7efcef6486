"""The AWS sweep: what is tagged with the cell or named for it, in every region, and how it is kept.

The tagging API finds what is tagged; S3 (its location is unreliable there) and AWS Backup plans are
listed directly; the kinds that hold or copy data are also listed by name, so an untagged one is found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from cells.core.naming import TAG_CELL
from cells.core.regions import REGIONS
from cells.ops.audit.model import BackupPlanFacts, BucketFacts, ReplicationTarget, TableFacts, parse_arn
from cells.ops.aws import DENIED, Aws, AwsError


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


def is_table(arn: str) -> bool:
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
