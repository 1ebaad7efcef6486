"""The facts the residency audit gathers (`Inventory`) and its verdicts (`Finding`, `Exemption`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field


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
