"""Residency: the facts of each AWS region (code), and the zones the fleet declares (config).

Two kinds of knowledge, kept apart. The **facts** of a region (its AZs, its GCP twin, where
Firestore, BigQuery and Cloud KMS live beside it) are physics: one table here, for every AWS
commercial region that has a GCP region in the same country. **Which regions form a residency
zone**, its countries and its GCP location constraint are a legal decision: declared in the global
stack file (`myark:global.zones`), validated by `cells.core.config`, and served from here to every
consumer (policies, SCP, GCP constraint, edge, audit) as `ZONES`.

No Pulumi here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Zone:
    """A residency zone: the legal boundary user data must not leave."""

    name: str
    # Regions of each cloud that belong to the zone (used by policies and org constraints).
    aws_regions: tuple[str, ...]
    gcp_locations: tuple[str, ...]
    # The `in:` value group of GCP's resource-locations constraint for the zone.
    gcp_location_group: str
    # Countries whose anonymous users land in this zone (ISO 3166-1 alpha-2). The edge's default
    # zone takes every country not listed anywhere.
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    """Facts about one AWS region a cell can live in, and its GCP twin (same country)."""

    name: str
    azs: tuple[str, ...]
    gcp_region: str
    firestore_location: str
    bigquery_location: str

    @property
    def az_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}{suffix}" for suffix in self.azs)

    @property
    def zone(self) -> str | None:
        """The residency zone the fleet puts this region in (None: in no zone)."""
        return zone_of_region(self.name)

    @property
    def gcp_locations(self) -> tuple[str, ...]:
        """Every GCP location a cell in this region uses: twin, data stores, and their KMS keys."""
        stores = (self.gcp_region, self.firestore_location, self.bigquery_location)
        return tuple(dict.fromkeys((*stores, *(kms_location_for(s) for s in stores))))


def _r(name: str, azs: str, gcp: str, firestore: str | None = None, bigquery: str | None = None) -> Region:
    return Region(name, tuple(azs), gcp, firestore or gcp, bigquery or gcp)


# Every AWS commercial region with a GCP region in the same country. AZ letters: AWS "Regions and
# Availability Zones" (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html);
# GCP regions: https://cloud.google.com/about/locations; Firestore locations:
# https://cloud.google.com/firestore/docs/locations; BigQuery: https://cloud.google.com/bigquery/docs/locations.
# Left out, no GCP region in the country: me-south-1 (Bahrain), me-central-1 (UAE), ap-southeast-5
# (Malaysia), ap-southeast-7 (Thailand), mx-central-1 (Mexico).
# The shipped cells keep their existing data locations (nam5, eur3, the US and EU multi-regions).
REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        _r("us-east-1", "abcdef", "us-east4", "nam5", "US"),
        _r("us-east-2", "abc", "us-east1", bigquery="US"),
        _r("us-west-1", "ab", "us-west2"),
        _r("us-west-2", "abcd", "us-west1", bigquery="US"),
        _r("ca-central-1", "abd", "northamerica-northeast1"),
        _r("ca-west-1", "abc", "northamerica-northeast2"),
        _r("sa-east-1", "abc", "southamerica-east1"),
        _r("eu-central-1", "abc", "europe-west3", "eur3", "EU"),
        _r("eu-central-2", "abc", "europe-west6"),
        _r("eu-west-1", "abc", "europe-west1", "eur3", "EU"),
        _r("eu-west-2", "abc", "europe-west2"),
        _r("eu-west-3", "abc", "europe-west9", bigquery="EU"),
        _r("eu-south-1", "abc", "europe-west8"),
        _r("eu-south-2", "abc", "europe-southwest1"),
        _r("eu-north-1", "abc", "europe-north1", bigquery="EU"),
        _r("il-central-1", "abc", "me-west1"),
        _r("af-south-1", "abc", "africa-south1"),
        _r("ap-east-1", "abc", "asia-east2"),
        _r("ap-east-2", "abc", "asia-east1"),
        _r("ap-south-1", "abc", "asia-south1"),
        _r("ap-south-2", "abc", "asia-south2"),
        _r("ap-southeast-1", "abc", "asia-southeast1"),
        _r("ap-southeast-2", "abc", "australia-southeast1"),
        _r("ap-southeast-3", "abc", "asia-southeast2"),
        _r("ap-southeast-4", "abc", "australia-southeast2"),
        _r("ap-northeast-1", "acd", "asia-northeast1"),
        _r("ap-northeast-2", "abcd", "asia-northeast3"),
        _r("ap-northeast-3", "abc", "asia-northeast2"),
    )
}


# --- the zones of the fleet (from config) -------------------------------------------------------


@dataclass(frozen=True)
class Residency:
    """The zones the fleet's global stack declares, and where unlisted countries' users go."""

    zones: Mapping[str, Zone]
    default_zone: str


_active: list[Residency] = []


def use_residency(residency: Residency | None) -> None:
    """Serve these zones to every consumer (set by `cells.core.fleet.load_fleet`; None: reload lazily)."""
    _active[:] = [residency] if residency else []


def residency() -> Residency:
    """The fleet's zones: those of the fleet loaded last, else of this project's stack files."""
    if not _active:
        from cells.core.fleet import load_fleet

        load_fleet()  # validates the whole fleet and calls use_residency
    return _active[0]


class _FleetZones(Mapping[str, Zone]):
    """`ZONES[name]`: a read-only view of the zones in the fleet's global stack file."""

    def __getitem__(self, name: str) -> Zone:
        return residency().zones[name]

    def __iter__(self) -> Iterator[str]:
        return iter(residency().zones)

    def __len__(self) -> int:
        return len(residency().zones)


ZONES: Mapping[str, Zone] = _FleetZones()


def default_zone() -> str:
    """Anonymous traffic from a country no zone lists goes to this zone's default cell."""
    return residency().default_zone


def zone_of_region(region: str) -> str | None:
    return next((z.name for z in ZONES.values() if region in z.aws_regions), None)


# Services whose resources are global in AWS (no region). CloudFront's ACM certificate must be
# issued in us-east-1: the one documented residency exception, it holds no user data.
AWS_GLOBAL_MODULES = frozenset({"iam", "cloudfront", "route53", "organizations", "shield"})
CLOUDFRONT_CERT_REGION = "us-east-1"
# CloudFront's one hosted zone id: the alias target zone of every CloudFront name (a distribution,
# Cognito's custom domain). https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


def location_in_zone(location: str, zone: str) -> bool:
    """True when a GCP/AWS location string belongs to the residency zone."""
    z = ZONES[zone]
    return (
        location in z.aws_regions
        or location in z.gcp_locations
        or location.lower() in {loc.lower() for loc in z.gcp_locations}
    )


# Cloud KMS locations that may hold a key for a data store in a given location (CMEK rules:
# the key's location must match the store's; multi-regions have their own KMS names).
# Cloud KMS has no `eu`: the EU multi-region's keys live in `europe`.
_KMS_FOR_LOCATION = {"eur3": "europe", "nam5": "us", "EU": "europe", "US": "us"}


def kms_location_for(location: str) -> str:
    return _KMS_FOR_LOCATION.get(location, location)


# ELB access logs: regions available before August 2022 deliver as the region's ELB account;
# newer regions as the log-delivery service principal.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "sa-east-1": "507241528517",
}
ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_principal(region: str) -> dict[str, str]:
    """The principal ELB writes access logs as, in `region` (its account, or the service)."""
    account = ELB_LOG_ACCOUNTS.get(region)
    if account:
        return {"AWS": f"arn:aws:iam::{account}:root"}
    return {"Service": ELB_LOG_SERVICE}
