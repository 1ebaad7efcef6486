"""Stack config: parsed into pydantic models before any resource exists.

Two sources feed the same models: the Pulumi runtime (what `pulumi up` hands the program) and the
stack file on disk (what the offline plan and the fleet checks read). A bad value becomes one
`ConfigError` naming the stack file, the key path, what is wrong and what would be valid.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from cells.core.errors import ConfigError  # re-exported: the config layer raises it
from cells.core.regions import REGIONS, Residency, Zone, zone_of_region
from cells.core.sharding import ShardMap

NAMESPACE = "myark"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# CloudWatch Logs accepts only these retention periods (days), from PutRetentionPolicy's
# `retentionInDays`: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
# Fargate CPU units -> allowed memory (MiB), the task size table of
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
# (8192 and 16384 CPU need Linux platform version 1.4.0 or later, which is the default).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
# ISO 3166-1 alpha-2, the officially assigned codes (https://www.iso.org/iso-3166-country-codes.html),
# the codes both Route53 geolocation and Cloudflare's CF-IPCountry use.
ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (a table to read, not a list to format)
)
# Config namespaces the program reads: its own, and those of the providers it uses (plus Pulumi's).
FOREIGN_NAMESPACES = ("aws", "gcp", "cloudflare", "pulumi")
# RFC 1918 private ranges: the only ones a VPC of a cell may use (not link-local, loopback, CGNAT).
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# An OCI image reference (https://github.com/distribution/reference/blob/main/reference.go): an
# optional registry host[:port], path components, then :tag (non-empty) and/or @sha256:digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - value))
        raise ValueError(
            f"{value} is not a CloudWatch retention period; nearest valid is {nearest} "
            f"(valid: {', '.join(map(str, LOG_RETENTION_DAYS))})"
        )
    return value


def did_you_mean(value: object, choices: Any) -> str:
    """' (did you mean 'x'?)' when one choice is close to the value, else ''."""
    names = [str(c) for c in choices]
    close = [c for c in names if c.lower() == str(value).lower()][:1]
    close = close or difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
    if not close and len(str(value)) >= 3:  # an abbreviation: prod -> production
        starts = [c for c in names if c.lower().startswith(str(value).lower())]
        close = starts if len(starts) == 1 else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(
            f"unknown region {value!r}{did_you_mean(value, REGIONS)}; "
            f"known regions: {', '.join(sorted(REGIONS))}"
        )
    return value


LogRetention = Annotated[int, AfterValidator(_log_retention)]
KnownRegion = Annotated[str, AfterValidator(_known_region)]


class Model(BaseModel):
    """Config models: camelCase keys in YAML, unknown keys refused, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class NetworkSpec(Model):
    """The cell's VPC. Subnets are carved from `cidr` by `cells.core.network_layout`."""

    cidr: str = Field(description="Private IPv4 range for the VPC, /16 to /20.")
    az_count: int = Field(3, ge=2, le=6, description="Availability zones to spread over (2 to 6).")
    nat_gateways: Literal["perAz", "single"] = Field(
        "perAz", description="One NAT gateway per AZ (resilient) or one for the cell (small cells)."
    )
    flow_log_retention_days: LogRetention = Field(365, description="Days VPC flow logs are kept.")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a network address ({exc}); write it like 10.32.0.0/16"
            ) from None
        if net.version != 4 or not any(net.subnet_of(r) for r in RFC1918):  # type: ignore[arg-type]
            raise ValueError(
                f"{value} is not inside an RFC 1918 private range; use one inside 10.0.0.0/8, "
                "172.16.0.0/12 or 192.168.0.0/16, e.g. 10.48.0.0/16"
            )
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(
                f"{value} is a /{net.prefixlen}; a cell needs /16 to /20 "
                "(3 AZs x public, private and isolated subnets)"
            )
        return value


class LoadBalancerSpec(Model):
    access_log_retention_days: int = Field(90, ge=7, le=3650, description="Days ALB access logs are kept.")
    ssl_policy: Literal["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06"] = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="TLS policy: 1.2 minimum, or 1.3 only."
    )
    idle_timeout_seconds: int = Field(60, ge=1, le=4000, description="Idle connection timeout.")


class ApiSpec(Model):
    """The API service on ECS Fargate."""

    image: str = Field(description="Container image, pinned by digest or tag.")
    cpu: int = Field(512, description="Fargate CPU units.")
    memory: int = Field(1024, description="Fargate memory (MiB), valid for the CPU size.")
    port: int = Field(8080, ge=1024, le=65535, description="The container's port (unprivileged).")
    desired_count: int = Field(2, ge=1, le=100, description="Tasks at deploy; autoscaling moves it after.")
    min_count: int = Field(2, ge=1, le=100, description="Autoscaling floor.")
    max_count: int = Field(6, ge=1, le=200, description="Autoscaling ceiling.")
    cpu_target_percent: int = Field(60, ge=10, le=90, description="Autoscaling target for average CPU.")
    health_check_path: str = Field(
        "/healthz", pattern=r"^/[A-Za-z0-9/_.-]*$", description="Probed by the load balancer and Route53."
    )
    log_retention_days: LogRetention = Field(365, description="Days the API's logs are kept.")

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        found = IMAGE_REFERENCE.fullmatch(value)
        if not found:
            raise ValueError(
                f"{value!r} is not an image reference; write registry/name:tag or registry/name@sha256:<64 hex>"
            )
        tag, digest = found["tag"], found["digest"]
        if digest is None and (tag is None or tag == "latest"):
            raise ValueError(
                f"{value!r} is not pinned ({'tag latest moves' if tag else 'no tag'}); pin it by a "
                f"release tag or a digest, e.g. {found['name']}:2026.11.2 or {found['name']}@sha256:<64 hex>"
            )
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_SIZES:
            raise ValueError(
                f"{value} is not a Fargate CPU size; valid: {', '.join(map(str, FARGATE_SIZES))}"
                f"{did_you_mean(value, FARGATE_SIZES)}"
            )
        return value

    @model_validator(mode="after")
    def _sizes(self) -> ApiSpec:
        allowed = FARGATE_SIZES[self.cpu]
        if self.memory not in allowed:
            raise ValueError(
                f"memory: {self.memory} MiB does not fit cpu {self.cpu}; Fargate allows "
                f"{allowed[0]} to {allowed[-1]} MiB ({', '.join(map(str, allowed))})"
            )
        if not self.min_count <= self.desired_count <= self.max_count:
            raise ValueError(
                f"desiredCount: {self.desired_count} must lie between minCount {self.min_count} "
                f"and maxCount {self.max_count}"
            )
        return self


class FrontendSpec(Model):
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        "PriceClass_100", description="CloudFront edge locations used (100: North America and Europe)."
    )


class DocumentsSpec(Model):
    noncurrent_version_days: int = Field(
        365, ge=30, le=3650, description="Days old document versions are kept before expiry."
    )


class AnalyticsSpec(Model):
    """BigQuery retention: how long partitions of each table live."""

    events_retention_days: int = Field(400, ge=30, le=3650, description="Partition expiry of `events`.")
    valuation_logs_retention_days: int = Field(
        1825, ge=30, le=3650, description="Partition expiry of `valuation_logs`."
    )


class CapacitySpec(Model):
    """How many homes a cell takes: placement and moves refuse a full cell; an alarm fires at 80 %."""

    max_users: int = Field(
        1_000_000, ge=1, description="Users homed in the cell at most (placement and moves refuse beyond)."
    )
    max_tenants: int = Field(
        20, ge=0, description="Dedicated tenants homed in the cell at most (tenant moves refuse beyond)."
    )


class GcpSpec(Model):
    project: str = Field(description="The cell's own GCP project id (its data stays in the zone).")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", value):
            raise ValueError(f"{value!r} is not a GCP project id (6-30 chars: lowercase, digits, hyphens)")
        return value


class CellSpec(Model):
    """One cell: a self-contained regional deployment of MyARK."""

    name: str = Field(description="The cell's name, used in hostnames, tags and the directory.")
    region: KnownRegion = Field(
        description="AWS region; its residency zone is the zone of myark:global.zones that lists it."
    )
    pilot: bool = Field(False, description="Pilot cells deploy in the wave after global, before the rest.")
    default_for_zone: bool = Field(False, description="New anonymous users of the zone land here.")
    failover_for_zone: bool = Field(
        False,
        description="The zone's failover cell (Route53 SECONDARY behind the default). Explicit, so adding "
        "a cell never moves it; at most one per zone, never the default.",
    )
    network: NetworkSpec = Field(description="The cell's VPC.")
    load_balancer: LoadBalancerSpec = Field(
        default_factory=lambda: LoadBalancerSpec.model_validate({}), description="The cell's ALB."
    )
    api: ApiSpec = Field(description="The API service on ECS Fargate.")
    frontend: FrontendSpec = Field(
        default_factory=lambda: FrontendSpec.model_validate({}), description="S3 + CloudFront web app."
    )
    documents: DocumentsSpec = Field(
        default_factory=lambda: DocumentsSpec.model_validate({}), description="The user documents bucket."
    )
    analytics: AnalyticsSpec = Field(
        default_factory=lambda: AnalyticsSpec.model_validate({}), description="BigQuery retention."
    )
    gcp: GcpSpec = Field(description="The cell's GCP project (Firestore, BigQuery, federation).")
    capacity: CapacitySpec = Field(
        default_factory=lambda: CapacitySpec.model_validate({}),
        description="Maximum users and tenants; placement and moves refuse a cell at capacity.",
    )
    shards: ShardMap = Field(description="Logical shard count, physical shards, dedicated tenants.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a cell name; use 3-32 lowercase letters, digits and hyphens, e.g. eu-central-1"
            )
        return value

    _zone: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _failover(self) -> CellSpec:
        if self.failover_for_zone and self.default_for_zone:
            raise ValueError(
                "cell.failoverForZone: the zone's default cell cannot also be its failover; set it on "
                "another cell of the zone"
            )
        return self

    @model_validator(mode="after")
    def _azs(self, info: ValidationInfo) -> CellSpec:
        available = len(REGIONS[self.region].azs)
        if self.network.az_count > available:
            raise ValueError(
                f"network.azCount: {self.network.az_count} exceeds the {available} AZs of {self.region}; "
                f"use 2 to {available}"
            )
        zones: Mapping[str, Zone] | None = (info.context or {}).get("zones")
        if zones is None:
            return self  # validated alone (no fleet): zone rules wait for the fleet
        zone = next((z.name for z in zones.values() if self.region in z.aws_regions), None)
        if zone is None:
            global_file = (info.context or {}).get("global_file", "the global stack file")
            listed = "; ".join(f"{z.name}: {', '.join(z.aws_regions)}" for z in zones.values())
            raise ValueError(
                f"region: {self.region} is in no residency zone of {global_file} ({listed}); add it to a "
                f"zone's awsRegions in {NAMESPACE}:global.zones there, or pick a listed region"
            )
        self._zone = zone
        for tenant, home in self.shards.tenants.items():
            if home.moving_from == self.name:
                raise ValueError(
                    f"shards.tenants.{tenant}.movingFrom: {home.moving_from!r} is this cell; movingFrom names "
                    "the tenant's home cell while the tenant moves here from there (remove it once the tenant "
                    "lives here)"
                )
            if home.residency is not None and home.residency not in zones:
                raise ValueError(
                    f"shards.tenants.{tenant}.residency: {home.residency!r} is not a residency zone"
                    f"{did_you_mean(home.residency, zones)}; zones: {', '.join(zones)}"
                )
            if home.residency is not None and home.residency != zone:
                homes = ", ".join(zones[home.residency].aws_regions) or "none"
                raise ValueError(
                    f"shards.tenants.{tenant}: the tenant requires residency {home.residency!r} but cell "
                    f"{self.name} is in zone {zone!r}; home it in a cell of zone {home.residency!r} "
                    f"(regions: {homes})"
                )
        return self

    @property
    def zone(self) -> str:
        zone = self._zone or zone_of_region(self.region)
        assert zone is not None, f"{self.region} is in no residency zone"
        return zone

    @property
    def facts(self):
        return REGIONS[self.region]


class EdgeSpec(Model):
    """How `api.<domain>` reaches each user's home cell."""

    provider: Literal["route53", "cloudflare"] = Field(
        "route53", description="cloudflare routes per user (Worker); route53 routes per DNS query."
    )
    cloudflare_account_id: str | None = Field(None, description="Cloudflare account id (32 hex digits).")
    cloudflare_zone_id: str | None = Field(
        None, description="Cloudflare zone id of the domain (32 hex digits)."
    )

    @model_validator(mode="after")
    def _cloudflare_ids(self) -> EdgeSpec:
        if self.provider == "cloudflare":
            for key in ("cloudflare_account_id", "cloudflare_zone_id"):
                value = getattr(self, key)
                if not value or not re.fullmatch(r"[0-9a-f]{32}", value):
                    raise ValueError(
                        f"{to_camel(key)}: is {value!r}; the cloudflare edge needs the 32-hex-digit id"
                    )
        return self


ZONE_NAME = re.compile(r"^[a-z][a-z0-9]{1,7}$")


def _country(value: str) -> str:
    if value not in ISO_COUNTRIES:
        raise ValueError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code{did_you_mean(value.upper(), ISO_COUNTRIES)}; "
            "write two capital letters, e.g. DE, FR, US"
        )
    return value


def _unquoted_no(value: Any) -> Any:
    if isinstance(value, bool):  # YAML 1.1 reads an unquoted NO (Norway), or ON/YES/OFF, as a boolean
        raise ValueError(
            f'got {value}: YAML reads an unquoted country code such as NO as a boolean; quote it: "NO"'
        )
    return value


Country = Annotated[str, BeforeValidator(_unquoted_no), AfterValidator(_country)]


class ZoneSpec(Model):
    """One residency zone: a legal decision, so it lives in config, not in code."""

    aws_regions: list[KnownRegion] = Field(
        min_length=1, description="AWS regions of the zone; a cell's zone is the zone listing its region."
    )
    countries: list[Country] = Field(
        min_length=1,
        description="ISO 3166-1 alpha-2 codes whose anonymous users land in the zone (edge routing).",
    )
    gcp_location_group: str = Field(
        description="The `in:` value group of GCP's gcp.resourceLocations constraint, e.g. in:eu-locations.",
        pattern=r"^in:[a-z0-9-]+-locations$",
    )


# Cognito's standard OAuth scopes; custom ones are `<resource server>/<scope>`.
OAUTH_SCOPES = ("openid", "email", "phone", "profile", "aws.cognito.signin.user.admin")


class AuthSpec(Model):
    """The hosted sign-in at auth.<domain>: the web app's OAuth settings on the Cognito app client."""

    callback_path: str = Field(
        "/auth/callback",
        pattern=r"^/[A-Za-z0-9/_.-]*$",
        description="Path on every cell's app host (https://<cell>.app.<domain><path>) sign-in returns to.",
    )
    logout_path: str = Field(
        "/", pattern=r"^/[A-Za-z0-9/_.-]*$", description="Path on every cell's app host sign-out returns to."
    )
    extra_callback_urls: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Further callback URLs (https, or http://localhost for development; no fragment).",
    )
    flows: list[Literal["code", "implicit"]] = Field(
        default_factory=lambda: ["code"],
        min_length=1,
        description="OAuth flows of the public web client: code (with PKCE), or implicit.",
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        min_length=1,
        description=f"OAuth scopes: {', '.join(OAUTH_SCOPES)} or <resource server>/<scope>.",
    )

    @field_validator("extra_callback_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        from cells.core.naming import callback_url_problem

        for url in value:
            why = callback_url_problem(url)
            if why:
                raise ValueError(f"{url!r} {why}; Cognito takes https URLs (http only for localhost)")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if scope not in OAUTH_SCOPES and not re.fullmatch(
                r"[\x21\x23-\x5b\x5d-\x7e]+/[\x21\x23-\x5b\x5d-\x7e]+", scope
            ):
                raise ValueError(
                    f"{scope!r} is not an OAuth scope; use {', '.join(OAUTH_SCOPES)} or <resource server>/<scope>"
                )
        if {"email", "phone", "profile"} & set(value) and "openid" not in value:
            raise ValueError("the email, phone and profile scopes need openid; add openid")
        return value


class GlobalSpec(Model):
    """The global control plane: identity, billing, cell directory, placement, edge; the zones."""

    region: KnownRegion = Field("us-east-1", description="AWS region of the control plane.")
    zones: dict[str, ZoneSpec] = Field(
        min_length=1,
        description="The residency zones by name (2-8 lowercase letters or digits): regions, countries, GCP "
        "location group. A region, a country and a GCP location belong to at most one zone.",
    )
    default_zone: str = Field(
        description="The zone whose default cell takes anonymous users of countries no zone lists."
    )
    placement: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per zone, the weight (percent) of new users placed in each cell; sticky per user.",
    )
    auth: AuthSpec = Field(
        default_factory=lambda: AuthSpec.model_validate({}),
        description="OAuth settings of the hosted sign-in (callback paths, flows, scopes).",
    )

    @model_validator(mode="after")
    def _zones(self) -> GlobalSpec:
        region_zone: dict[str, str] = {}
        country_zone: dict[str, str] = {}
        location_zone: dict[str, tuple[str, str]] = {}
        for name, zone in self.zones.items():
            if not ZONE_NAME.fullmatch(name):
                raise ValueError(
                    f"zones.{name}: {name!r} is not a zone name; use 2-8 lowercase letters or digits, e.g. eu"
                )
            for region in zone.aws_regions:
                if region in region_zone:
                    raise ValueError(
                        f"zones.{name}.awsRegions: {region} is already in zone {region_zone[region]}; "
                        "a region belongs to one zone only"
                    )
                region_zone[region] = name
                for loc in REGIONS[region].gcp_locations:
                    other = location_zone.get(loc.lower())
                    if other and other[0] != name:
                        raise ValueError(
                            f"zones.{name}.awsRegions: {region} uses GCP location {loc}, which {other[1]} puts "
                            f"in zone {other[0]}; regions sharing a GCP location belong to one zone"
                        )
                    location_zone[loc.lower()] = (name, region)
            for country in zone.countries:
                if country in country_zone:
                    raise ValueError(
                        f"zones.{name}.countries: {country} is already in zone {country_zone[country]}; "
                        "a country's anonymous users go to one zone only"
                    )
                country_zone[country] = name
        if self.default_zone not in self.zones:
            raise ValueError(
                f"defaultZone: {self.default_zone!r} is not a zone{did_you_mean(self.default_zone, self.zones)}; "
                f"zones: {', '.join(self.zones)}"
            )
        for zone, weights in self.placement.items():
            if zone not in self.zones:
                raise ValueError(
                    f"placement.{zone}: {zone!r} is not a zone{did_you_mean(zone, self.zones)}; "
                    f"zones: {', '.join(self.zones)}"
                )
            if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
                raise ValueError(
                    f"placement.{zone}: weights {weights} must be non-negative and add up to 100 (percent)"
                )
        return self

    def residency(self) -> Residency:
        """The zones as the rest of the program uses them (GCP locations from the region facts)."""
        zones = {
            name: Zone(
                name=name,
                aws_regions=tuple(z.aws_regions),
                gcp_locations=tuple(
                    dict.fromkeys(loc for r in z.aws_regions for loc in REGIONS[r].gcp_locations)
                ),
                gcp_location_group=z.gcp_location_group,
                countries=tuple(z.countries),
            )
            for name, z in self.zones.items()
        }
        return Residency(zones=zones, default_zone=self.default_zone)


def _account_id(value: Any) -> Any:
    # YAML reads an unquoted 12-digit account id as a number; AWS ids keep their leading zeros.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return f"{value:012d}"
    return value


class StackConfig(Model):
    """Everything under `myark:` in one stack file."""

    kind: Literal["cell", "global"] = Field(
        description="What the stack builds: one cell, or the global control plane."
    )
    domain: str = Field(description="Public domain; the API lives at api.<domain>.")
    environment: Literal["production", "staging", "development"] = Field(
        "production", description="Tagged on every resource (myark:environment)."
    )
    edge: EdgeSpec = Field(
        default_factory=lambda: EdgeSpec.model_validate({}),
        description="The fleet's edge: same in every stack.",
    )
    global_stack: str | None = Field(
        None, description="Fully qualified name of the global stack a cell reads (org/project/stack)."
    )
    cell: CellSpec | None = Field(None, description="The cell (cell stacks only).")
    global_: GlobalSpec | None = Field(
        None, alias="global", description="The control plane (global stack only)."
    )
    cloudflare_api_token: str | None = Field(None, description="Secret. Required by the cloudflare edge.")
    origin_secret: str | None = Field(
        None,
        description="Secret (cell stacks, cloudflare edge). The value the Worker sends in X-MyARK-Origin-Auth "
        "and the cell's load balancer requires: 32 to 128 letters, digits, `-` or `_`.",
    )
    origin_secret_previous: str | None = Field(
        None,
        description="Secret. The value being rotated out: the load balancer accepts it too until removed.",
    )
    aws_scp_target: Annotated[str | None, BeforeValidator(_account_id)] = Field(
        None,
        description="An AWS Organizations root, OU or account id: when set, the stack creates and attaches its "
        "zone's region-deny service control policy there (else it is only a stack output). An account id "
        "may be written as a number or a string.",
        pattern=r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$",
    )

    @field_validator("origin_secret", "origin_secret_previous")
    @classmethod
    def _origin_secret(cls, value: str | None) -> str | None:
        # The offline plan cannot decrypt secrets and sees "[secret]"; a real run sees the value.
        if value is not None and value != "[secret]" and not re.fullmatch(r"[A-Za-z0-9_-]{32,128}", value):
            raise ValueError(
                "must be 32 to 128 letters, digits, '-' or '_' (the load balancer matches it literally: "
                "no '*' or '?'); generate one with `openssl rand -hex 32`"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not re.fullmatch(r"(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value):
            raise ValueError(f"{value!r} is not a DNS domain; write it like myark.io")
        return value

    @model_validator(mode="after")
    def _kind(self) -> StackConfig:
        if self.kind == "cell":
            if self.cell is None:
                raise ValueError(
                    f"{NAMESPACE}:cell: a cell stack needs it (name, region, network, api, gcp, shards)"
                )
            if self.global_ is not None:
                raise ValueError(
                    f"{NAMESPACE}:global: belongs in the global stack only; remove it from a cell stack"
                )
            if not self.global_stack:
                raise ValueError(
                    f"{NAMESPACE}:globalStack: a cell stack needs it, e.g. myark/myark-cells/global"
                )
            if len(self.global_stack.split("/")) != 3 or not all(self.global_stack.split("/")):
                raise ValueError(
                    f"{NAMESPACE}:globalStack: {self.global_stack!r} is not org/project/stack; "
                    "write it fully qualified, e.g. myark/myark-cells/global"
                )
        elif self.global_ is None:
            raise ValueError(
                f"{NAMESPACE}:global: a global stack needs it (region, zones, defaultZone, placement)"
            )
        if self.edge.provider == "cloudflare" and not self.cloudflare_api_token:
            raise ValueError(
                f"{NAMESPACE}:cloudflareApiToken: the cloudflare edge needs it (set it with --secret)"
            )
        return self

    @property
    def global_spec(self) -> GlobalSpec:
        assert self.global_ is not None, "not the global stack"
        return self.global_


SECRET_KEYS = ("cloudflareApiToken", "originSecret", "originSecretPrevious")
TOP_LEVEL_KEYS = tuple((info.alias or name) for name, info in StackConfig.model_fields.items())


@dataclass(frozen=True)
class StackSettings:
    """A validated stack: its file, its name, and its config."""

    stack: str
    file: str
    config: StackConfig
    # Values of other namespaces (aws:, gcp:, ...) kept for the checks that span them.
    foreign: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> CellSpec:
        assert self.config.cell is not None, "not a cell stack"
        return self.config.cell


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def _format_error(file: str, err: Any, siblings_missing: list[str]) -> str:
    loc = [str(p) for p in err["loc"]]
    # A model validator reports at the model's own path; its message starts with the key below it.
    path = f"{NAMESPACE}:" + ".".join(loc) if loc else f"{NAMESPACE}"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = err["type"]
    if kind == "extra_forbidden":
        key, parent = loc[-1], loc[:-1]
        valid = _valid_keys(parent)
        hint = did_you_mean(key, siblings_missing) or did_you_mean(key, valid)
        homes = [h for h in _homes_of(key) if h != ".".join(parent)]
        if not hint and homes:
            hint = (
                f"; {key} belongs inside {NAMESPACE}:{homes[0]}" if homes[0] else f"; write {NAMESPACE}:{key}"
            )
        if not hint:  # a misspelling of a key that lives elsewhere
            paths = {p.rpartition(".")[2]: p.rpartition(".")[0] for p in reversed(_all_paths())}
            near = difflib.get_close_matches(key, list(paths), n=1, cutoff=0.6)
            if near:
                where = f"{NAMESPACE}:{paths[near[0]]}" if paths[near[0]] else "the top level"
                hint = f" (did you mean {near[0]!r}? it belongs inside {where})"
        msg = f"unknown key {key!r}{hint}; valid keys here: {', '.join(valid)}"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in {
        "int_parsing",
        "int_type",
        "bool_parsing",
        "bool_type",
        "string_type",
        "dict_type",
        "list_type",
    }:
        msg = f"got {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", msg)
        msg = f"got {err.get('input')!r}{did_you_mean(err.get('input'), choices)}; {msg[0].lower()}{msg[1:]}"
    elif kind == "string_pattern_mismatch":
        msg = f"got {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    # A model validator's message starts with the key it is about ("region: ...", "myark:cell: ...").
    head = re.match(r"([A-Za-z0-9_.:-]+): (.*)", msg)
    if kind not in {"extra_forbidden", "missing"} and head:
        key, msg = head[1], head[2]
        path = key if key.startswith(f"{NAMESPACE}:") else f"{path}.{key}" if loc else f"{NAMESPACE}:{key}"
    return " ".join(f"{file}: {path}: {msg}".split())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


def _walk(path: list[str]) -> type[BaseModel] | None:
    """The model whose keys are valid at `path` (dict levels, e.g. a zone's name, skipped)."""
    annotation: Any = StackConfig
    for part in path:
        if get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
            continue
        model = _model_in(annotation)
        fld = (
            next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
            if model
            else None
        )
        if fld is None:
            return None
        annotation = fld.annotation
    return _model_in(annotation)


def _valid_keys(path: list[str]) -> list[str]:
    model = _walk(path)
    if model is None:
        return []
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _all_paths(
    model: type[BaseModel] | None = None, prefix: str = "", seen: frozenset = frozenset()
) -> list[str]:
    model = model or StackConfig
    out: list[str] = []
    for n, f in model.model_fields.items():
        key = f"{prefix}{f.alias or n}"
        out.append(key)
        sub = _model_in(f.annotation)
        if sub is not None and sub not in seen:
            is_dict = "dict" in str(f.annotation)
            out += _all_paths(sub, f"{key}.<name>." if is_dict else f"{key}.", seen | {model})
    return out


def _homes_of(key: str) -> list[str]:
    """The parent paths under which `key` is a valid key ("" for the top level)."""
    return [p.rpartition(".")[0] for p in _all_paths() if p.rpartition(".")[2] == key]


def _one_error(file: str, errors: list[Any]) -> str:
    """The single most useful line: a misspelt key explains the 'missing' one beside it."""
    missing: dict[tuple[str, ...], list[str]] = {}
    for e in errors:
        if e["type"] == "missing":
            missing.setdefault(tuple(map(str, e["loc"][:-1])), []).append(str(e["loc"][-1]))
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    best = extra[0] if extra else errors[0]
    parent = tuple(map(str, best["loc"][:-1]))
    return _format_error(file, best, missing.get(parent, []))


def _namespace_error(file: str, key: str, stack: str) -> str | None:
    namespace, _, name = key.partition(":")
    if not name:
        homes = _homes_of(key)
        if "" in homes:
            return f"{file}: {key}: config keys are namespaced; write {NAMESPACE}:{key}"
        if homes:
            return (
                f"{file}: {key}: is not a config key; {key} belongs inside {NAMESPACE}:{homes[0]} "
                f"(indent it under {NAMESPACE}:{homes[0].split('.')[0]}:)"
            )
        return (
            f"{file}: {key}: config keys are namespaced and no {NAMESPACE} key is named {key!r}"
            f"{did_you_mean(key, TOP_LEVEL_KEYS)}; keys: {', '.join(f'{NAMESPACE}:{k}' for k in TOP_LEVEL_KEYS)}"
        )
    if namespace != NAMESPACE and namespace not in FOREIGN_NAMESPACES:
        known = (NAMESPACE, *FOREIGN_NAMESPACES)
        return (
            f"{file}: {key}: unknown namespace {namespace!r}{did_you_mean(namespace, known)}; this program reads "
            f"{', '.join(f'{n}:' for n in known)} (Pulumi would ignore the key)"
        )
    return None


def parse_stack(
    stack: str,
    raw: Mapping[str, Any],
    secret_keys: set[str],
    file: str,
    zones: Mapping[str, Zone] | None = None,
    global_file: str = "the global stack file",
) -> StackSettings:
    """Validate one stack's config (already decoded: objects as dicts) into a StackSettings.

    `zones` are the fleet's residency zones (from its global stack file); a cell needs them.
    """
    ours: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise ConfigError(f"{file}: {key!r}: a config key must be text, like {NAMESPACE}:kind")
        error = _namespace_error(file, key, stack)
        if error:
            raise ConfigError(error)
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
        else:
            foreign[key] = value
    for name in SECRET_KEYS:
        if name in ours and f"{NAMESPACE}:{name}" not in secret_keys:
            raise ConfigError(
                f"{file}: {NAMESPACE}:{name}: is plain text; it must be a secret. Remove it and run "
                f"`pulumi config set --secret {NAMESPACE}:{name} <value> -s {stack}`"
            )
    # A block of the other kind of stack: one line, not one per key inside it.
    kind = ours.get("kind")
    if kind == "global" and "cell" in ours:
        raise ConfigError(
            f"{file}: {NAMESPACE}:cell: belongs in cell stacks only; remove it from this global stack"
        )
    if kind == "cell" and "global" in ours:
        raise ConfigError(
            f"{file}: {NAMESPACE}:global: belongs in the global stack only; remove it from this cell stack"
        )
    try:
        config = StackConfig.model_validate(
            ours, context={"zones": zones, "global_file": global_file} if zones is not None else None
        )
    except ValidationError as exc:
        raise ConfigError(_one_error(file, exc.errors())) from None
    aws_region = foreign.get("aws:region")
    if config.cell and aws_region and aws_region != config.cell.region:
        raise ConfigError(
            f"{file}: aws:region: {aws_region} contradicts {NAMESPACE}:cell.region {config.cell.region}; "
            "remove aws:region (the cell's region decides) or make them equal"
        )
    return StackSettings(stack=stack, file=file, config=config, foreign=foreign)


def _decode(value: Any) -> Any:
    """Runtime config values are strings; structured ones are JSON."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@dataclass(frozen=True)
class StackFile:
    """A stack file as written: plain values, and the keys held as secrets (`secure:`)."""

    stack: str
    path: Path
    values: dict[str, Any]
    secret_keys: frozenset[str]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys without a word; a stack file must not."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[arg-type]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1}); keep one", None
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_stack_file(stack: str, root: Path = PROJECT_ROOT) -> StackFile:
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(list_stacks(root)) or "none"
        raise ConfigError(f"unknown stack {stack!r}: no {path.name} in {root}; known stacks: {known}")
    try:
        doc = load_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: is not valid YAML: {exc}".replace("\n", " ")) from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path.name}: has no `config:` mapping; start it with config: and {NAMESPACE}: keys"
        )
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.add(key)
            # Ciphertext cannot be decrypted without the CLI; the plan only needs to know it is secret.
            values[key] = "[secret]"
        else:
            values[key] = value
    return StackFile(stack=stack, path=path, values=values, secret_keys=frozenset(secrets))


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> StackSettings:
    """One stack, validated with the zones of its fleet (a cell's zone comes from the global stack)."""
    from cells.core.fleet import load_fleet

    read_stack_file(stack, root)  # an unknown stack: say which exist
    return load_fleet(root, focus=stack).stack(stack)


def list_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
