"""Names that several stacks must agree on: hostnames, tags and labels, directory keys."""

from __future__ import annotations

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


def federation_pool_id(cell: str) -> str:
    return f"myark-{cell}"[:32]


def api_service_account_id(cell: str) -> str:
    return f"api-{cell}"[:30]


def api_service_account_email(cell: str, project: str) -> str:
    return f"{api_service_account_id(cell)}@{project}.iam.gserviceaccount.com"


def federation_audience(project_number: str, cell: str) -> str:
    """What the API hands Google's STS: the workload identity provider's full resource name."""
    return (
        f"//iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{federation_pool_id(cell)}/providers/aws"
    )


def zone_api_host(zone: str, domain: str) -> str:
    """Where a residency zone's anonymous traffic lands (Route53 failover inside the zone)."""
    return f"{zone}.api.{domain}"
