"""The one table of residency facts: AWS region -> zone, AZs, GCP and data locations.

No Pulumi here. Every other module asks this table; none repeats a region's facts.
"""

from __future__ import annotations

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
    """Facts about one AWS region a cell can live in, and its GCP twin."""

    name: str
    zone: str
    azs: tuple[str, ...]
    gcp_region: str
    firestore_location: str
    bigquery_location: str

    @property
    def az_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}{suffix}" for suffix in self.azs)


ZONES: dict[str, Zone] = {
    "us": Zone(
        name="us",
        aws_regions=("us-east-1", "us-east-2", "us-west-2"),
        gcp_locations=("us", "nam5", "nam7", "us-east1", "us-east4", "us-central1", "us-west1", "US"),
        gcp_location_group="in:us-locations",
        countries=("US",),
    ),
    "eu": Zone(
        name="eu",
        aws_regions=("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
        gcp_locations=(
            "eu",
            "eur3",
            "eur5",
            "europe-west1",
            "europe-west3",
            "europe-west4",
            "europe-west9",
            "europe-north1",
            "europe",
            "EU",
        ),
        gcp_location_group="in:eu-locations",
        # EU and EEA members, Switzerland and the UK (GDPR and its twins).
        countries=(
            "AT",
            "BE",
            "BG",
            "HR",
            "CY",
            "CZ",
            "DK",
            "EE",
            "FI",
            "FR",
            "DE",
            "GR",
            "HU",
            "IE",
            "IT",
            "LV",
            "LT",
            "LU",
            "MT",
            "NL",
            "PL",
            "PT",
            "RO",
            "SK",
            "SI",
            "ES",
            "SE",
            "IS",
            "LI",
            "NO",
            "CH",
            "GB",
        ),
    ),
}

# Anonymous traffic from a country no zone lists goes to this zone's default cell.
DEFAULT_ZONE = "us"


REGIONS: dict[str, Region] = {
    "us-east-1": Region("us-east-1", "us", ("a", "b", "c", "d", "e", "f"), "us-east4", "nam5", "US"),
    "us-east-2": Region("us-east-2", "us", ("a", "b", "c"), "us-east1", "us-east1", "US"),
    "us-west-2": Region("us-west-2", "us", ("a", "b", "c", "d"), "us-west1", "us-west1", "US"),
    "eu-central-1": Region("eu-central-1", "eu", ("a", "b", "c"), "europe-west3", "eur3", "EU"),
    "eu-west-1": Region("eu-west-1", "eu", ("a", "b", "c"), "europe-west1", "eur3", "EU"),
    "eu-west-3": Region("eu-west-3", "eu", ("a", "b", "c"), "europe-west9", "europe-west9", "EU"),
    "eu-north-1": Region("eu-north-1", "eu", ("a", "b", "c"), "europe-north1", "europe-north1", "EU"),
}

# Services whose resources are global in AWS (no region). CloudFront's ACM certificate must be
# issued in us-east-1: the one documented residency exception, it holds no user data.
AWS_GLOBAL_MODULES = frozenset({"iam", "cloudfront", "route53", "organizations", "shield"})
CLOUDFRONT_CERT_REGION = "us-east-1"


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
