"""Names that several stacks must agree on: hostnames, tags and labels, directory keys."""

from __future__ import annotations

import hashlib
import re

TAG_CELL = "myark:cell"
TAG_REGION = "myark:region"
TAG_RESIDENCY = "myark:residency"
TAG_TENANT = "myark:tenant"
TAG_ENVIRONMENT = "myark:environment"
TAG_ROLE = "myark:role"
REQUIRED_TAGS = (TAG_CELL, TAG_REGION, TAG_RESIDENCY)


def api_host(domain: str) -> str:
    """The one public API name; the edge sends each user on to their home cell."""
    return f"api.{domain}"


def cell_api_host(cell: str, domain: str) -> str:
    """A cell's own API name (the edge's origin; what Route53-mode clients learn at login)."""
    return f"{cell}.api.{domain}"


def cell_app_host(cell: str, domain: str) -> str:
    return f"{cell}.app.{domain}"


def control_plane_host(domain: str) -> str:
    return f"auth.{domain}"


def stack_tags(cell: str, region: str, zone: str, environment: str) -> dict[str, str]:
    return {TAG_CELL: cell, TAG_REGION: region, TAG_RESIDENCY: zone, TAG_ENVIRONMENT: environment}


def gcp_labels(tags: dict[str, str]) -> dict[str, str]:
    """GCP label keys allow only lowercase letters, digits, `_` and `-`: `myark:cell` -> `myark-cell`."""
    return {_label(k): _label(v) for k, v in tags.items()}


def _label(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def shard_map_parameter(cell: str) -> str:
    return f"/myark/{cell}/shard-map"


# pulumi-aws autonaming appends "-" and 7 random characters to the logical name.
AUTONAME_SUFFIX_LENGTH = 8
# The workload identity provider's id: 4 to 32 characters (`aws` alone is too short).
FEDERATION_PROVIDER_ID = "aws-tasks"


def within(name: str, limit: int) -> str:
    """`name` if it fits in `limit` characters, else a prefix of it and a hash of the whole (stable,
    distinct for distinct names, letters or digits at both ends)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def autoname_budget(logical: str, limit: int) -> str | None:
    """None when the engine's autoname of `logical` fits `limit` (keep it: today's names stay);
    else an explicit name within the limit."""
    if len(logical) + AUTONAME_SUFFIX_LENGTH <= limit:
        return None
    return within(logical, limit)


def federation_pool_id(cell: str) -> str:
    """4-32 characters; a long cell name is shortened with a hash (ids are unique per project)."""
    return within(f"myark-{cell}", 32)


def api_service_account_id(cell: str) -> str:
    """6-30 characters, ending in a letter or digit."""
    return within(f"api-{cell}", 30)


def load_balancer_name(cell: str) -> str | None:
    """ALB names are at most 32 characters: None keeps the autoname where it fits."""
    return autoname_budget(f"{cell}-alb", 32)


def target_group_name(cell: str) -> str | None:
    return autoname_budget(f"{cell}-api-tg", 32)


def api_service_account_email(cell: str, project: str) -> str:
    return f"{api_service_account_id(cell)}@{project}.iam.gserviceaccount.com"


def federation_audience(project_number: str, cell: str) -> str:
    """What the API hands Google's STS: the workload identity provider's full resource name."""
    return (
        f"//iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{federation_pool_id(cell)}/providers/{FEDERATION_PROVIDER_ID}"
    )


def zone_api_host(zone: str, domain: str) -> str:
    """Where a residency zone's anonymous traffic lands (Route53 failover inside the zone)."""
    return f"{zone}.api.{domain}"


def callback_url_problem(url: str) -> str | None:
    """Why Cognito refuses a callback or sign-out URL (https, or http://localhost; no fragment)."""
    if "#" in url:
        return "has a fragment (#)"
    if url.startswith("http://"):
        host = url[len("http://") :].split("/")[0].split(":")[0]
        return None if host == "localhost" else "uses http (only http://localhost may)"
    if not re.fullmatch(r"https://[a-z0-9.-]+(:\d+)?(/\S*)?", url):
        return "is not an absolute https URL"
    return None


def app_callback_url(cell: str, domain: str, path: str) -> str:
    return f"https://{cell_app_host(cell, domain)}{path}"
