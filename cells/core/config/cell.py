"""The cell stack's `myark:cell`: network, load balancer, API, frontend, data stores, capacity, shards."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cells.core.config.base import NAMESPACE, KnownRegion, Model, did_you_mean
from cells.core.regions import REGIONS, Zone, zone_of_region
from cells.core.sharding.shard_map import ShardMap

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


LogRetention = Annotated[int, AfterValidator(_log_retention)]


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
