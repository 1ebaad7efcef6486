"""The audit's rules: plain facts in, findings out. `KINDS` says what each finding kind means."""

from __future__ import annotations

from cells.core.naming import TAG_CELL
from cells.core.regions import AWS_GLOBAL_MODULES, CLOUDFRONT_CERT_REGION, ZONES, location_in_zone
from cells.ops.audit.model import (
    AuditResult,
    BackupPlanFacts,
    BucketFacts,
    CopyFacts,
    Exemption,
    Finding,
    Inventory,
    TableFacts,
    parse_arn,
)

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


def zone_text(zone: str) -> str:
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
    return Finding("outside-zone", arn, region, f"lives in {region}; {zone_text(zone)}")


def bucket_findings(bucket: BucketFacts, zone: str) -> list[Finding]:
    out: list[Finding] = []

    def add(kind: str, detail: str) -> None:
        out.append(Finding(kind, bucket.arn, bucket.region, detail))

    for target in bucket.replication:
        if target.region is None:
            add(
                "replication-unverified",
                f"replicates to {target.bucket_arn}, whose location cannot be read; check that it is in "
                f"{zone_text(zone).removeprefix('zone ')}",
            )
        elif target.region not in ZONES[zone].aws_regions:
            add(
                "replication-outside-zone",
                f"replicates to {target.bucket_arn} in {target.region}; {zone_text(zone)}",
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
        Finding("replica-outside-zone", t.arn, t.region, f"has a replica in {r}; {zone_text(zone)}")
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
            f"copies recovery points to {vault} in {parse_arn(vault).region}; {zone_text(zone)}",
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
        f"{zone_text(zone)}",
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
