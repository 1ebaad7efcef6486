"""Stack config: parsed into pydantic models before any resource exists.

Two sources feed the same models: the Pulumi runtime (what `pulumi up` hands the program) and the
stack file on disk (what the offline plan and the fleet checks read). A bad value becomes one
`ConfigError` naming the stack file, the key path, what is wrong and what would be valid.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from cells.regions import REGIONS, ZONES
from cells.sharding import ShardMap

NAMESPACE = "myark"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557)
# Fargate CPU units -> allowed memory (MiB), from the ECS task size table.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - value))
        raise ValueError(f"{value} is not a CloudWatch retention period; nearest valid is {nearest}")
    return value


def _known_region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(f"unknown region {value!r}; known regions: {', '.join(sorted(REGIONS))}")
    return value


LogRetention = Annotated[int, AfterValidator(_log_retention)]
KnownRegion = Annotated[str, AfterValidator(_known_region)]


class ConfigError(Exception):
    """A user mistake in config: the message is the whole story, never a traceback."""


class Model(BaseModel):
    """Config models: camelCase keys in YAML, unknown keys refused, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class NetworkSpec(Model):
    """The cell's VPC. Subnets are carved from `cidr` by `cells.network_layout`."""

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
        if net.version != 4 or not net.is_private:
            raise ValueError(
                f"{value} is not a private IPv4 range; use one inside 10.0.0.0/8 or 172.16.0.0/12"
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
        if not re.fullmatch(r"[a-z0-9./_:@-]+", value) or (
            ":" not in value.split("/")[-1] and "@" not in value
        ):
            raise ValueError(
                f"{value!r} is not a pinned image; write registry/name:tag or registry/name@sha256:..."
            )
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_SIZES:
            raise ValueError(
                f"{value} is not a Fargate CPU size; valid: {', '.join(map(str, FARGATE_SIZES))}"
            )
        return value

    @model_validator(mode="after")
    def _sizes(self) -> ApiSpec:
        allowed = FARGATE_SIZES[self.cpu]
        if self.memory not in allowed:
            raise ValueError(
                f"memory {self.memory} MiB does not fit cpu {self.cpu}; Fargate allows "
                f"{allowed[0]} to {allowed[-1]} MiB ({', '.join(map(str, allowed[:4]))}, ...)"
            )
        if not self.min_count <= self.desired_count <= self.max_count:
            raise ValueError(
                f"desiredCount {self.desired_count} must lie between minCount {self.min_count} "
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
    region: KnownRegion = Field(description="AWS region; its residency zone comes from the region table.")
    pilot: bool = Field(False, description="Pilot cells deploy in the wave after global, before the rest.")
    default_for_zone: bool = Field(False, description="New anonymous users of the zone land here.")
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

    @model_validator(mode="after")
    def _azs(self) -> CellSpec:
        available = len(REGIONS[self.region].azs)
        if self.network.az_count > available:
            raise ValueError(
                f"network.azCount {self.network.az_count} exceeds the {available} AZs of {self.region}; "
                f"use 2 to {available}"
            )
        for tenant, home in self.shards.tenants.items():
            if home.residency is not None and home.residency != self.zone:
                homes = ", ".join(r for r, f in sorted(REGIONS.items()) if f.zone == home.residency) or "none"
                raise ValueError(
                    f"shards.tenants.{tenant}: the tenant requires residency {home.residency!r} but cell "
                    f"{self.name} is in zone {self.zone!r}; home it in a cell of zone {home.residency!r} "
                    f"(regions: {homes})"
                )
        return self

    @property
    def zone(self) -> str:
        return REGIONS[self.region].zone

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
                        f"edge.{to_camel(key)} is {value!r}; the cloudflare edge needs the 32-hex-digit id"
                    )
        return self


class GlobalSpec(Model):
    """The global control plane: identity, billing, cell directory, placement, edge."""

    region: KnownRegion = Field("us-east-1", description="AWS region of the control plane.")
    placement: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per zone, the weight (percent) of new users placed in each cell; sticky per user.",
    )

    @field_validator("placement")
    @classmethod
    def _placement(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for zone, weights in value.items():
            if zone not in ZONES:
                raise ValueError(f"placement zone {zone!r} is unknown; zones: {', '.join(ZONES)}")
            if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
                raise ValueError(
                    f"placement.{zone} weights {weights} must be non-negative and add up to 100 (percent)"
                )
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
    aws_scp_target: str | None = Field(
        None,
        description="An AWS Organizations root, OU or account id: when set, the stack creates and attaches its "
        "zone's region-deny service control policy there (else it is only a stack output).",
        pattern=r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$",
    )

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
                raise ValueError("a cell stack needs myark:cell (name, region, network, api, gcp, shards)")
            if self.global_ is not None:
                raise ValueError("myark:global belongs in the global stack only; remove it from a cell stack")
            if not self.global_stack:
                raise ValueError("a cell stack needs myark:globalStack, e.g. myark/myark-cells/global")
        elif self.cell is not None:
            raise ValueError("myark:cell belongs in cell stacks only; remove it from the global stack")
        if self.edge.provider == "cloudflare" and not self.cloudflare_api_token:
            raise ValueError("the cloudflare edge needs myark:cloudflareApiToken (set it with --secret)")
        return self

    @property
    def global_spec(self) -> GlobalSpec:
        return self.global_ or GlobalSpec.model_validate({})


SECRET_KEYS = ("cloudflareApiToken",)
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


def _format_error(file: str, err: Any) -> str:
    loc = [str(p) for p in err["loc"]]
    # A model validator reports at the model's own path; its message already names the key.
    path = f"{NAMESPACE}:" + ".".join(loc) if loc else f"{NAMESPACE}:"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        parent = loc[:-1]
        msg = f"unknown key {loc[-1]!r}; valid keys here: {', '.join(_valid_keys(parent))}"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] in {"int_parsing", "int_type", "bool_parsing", "bool_type", "string_type", "dict_type"}:
        msg = f"got {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    return f"{file}: {path}: {msg}"


def _valid_keys(path: list[str]) -> list[str]:
    model: type[BaseModel] | None = StackConfig
    for part in path:
        if model is None:
            break
        fld = next(
            (f for n, f in model.model_fields.items() if (f.alias or n) == part),
            None,
        )
        annotation = getattr(fld, "annotation", None) if fld else None
        model = _model_in(annotation)
    if model is None:
        return []
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


def parse_stack(stack: str, raw: Mapping[str, Any], secret_keys: set[str], file: str) -> StackSettings:
    """Validate one stack's config (already decoded: objects as dicts) into a StackSettings."""
    ours: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = key.partition(":")
        if not name:
            raise ConfigError(f"{file}: {key}: config keys are namespaced; write {NAMESPACE}:{key}")
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
    try:
        config = StackConfig.model_validate(ours)
    except ValidationError as exc:
        raise ConfigError("\n".join(_format_error(file, e) for e in exc.errors())) from None
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


def from_runtime() -> StackSettings:
    """The config the Pulumi engine handed this program (real run or offline plan)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    stack = pulumi.get_stack()
    return parse_stack(stack, {k: _decode(v) for k, v in raw.items()}, secret_keys, f"Pulumi.{stack}.yaml")


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
    sf = read_stack_file(stack, root)
    return parse_stack(stack, sf.values, set(sf.secret_keys), sf.path.name)


def list_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
