"""The GCP side of the residency audit: every asset of the cell's project, from Cloud Asset Inventory.

`searchAllResources` (v1, `GET https://cloudasset.googleapis.com/v1/projects/<id>:searchAllResources`)
lists every resource of the project with its `location` (a region, a multi-region such as `eu`, or
`global`). It needs `cloudasset.assets.searchAllResources` (roles/cloudasset.viewer) on the project and
the Cloud Asset API enabled. The HTTP transport is injectable (tests replay recorded responses).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from urllib.parse import quote, urlencode

from cells.ops.audit.model import GcpAsset
from cells.ops.edge import EdgeError, HttpRequest, Transport, urllib_transport

CLOUD_ASSET_API = "https://cloudasset.googleapis.com/v1"
PAGE_SIZE = 500  # the API's maximum
MAX_PAGES = 200  # 100,000 assets: a project with more is not a cell's
GCP_TOKEN_ENV = "GOOGLE_OAUTH_ACCESS_TOKEN"

GcpSearch = Callable[[str], list[GcpAsset]]  # project -> assets; raises GcpUnavailable


class GcpUnavailable(Exception):
    """The GCP project could not be searched: the message says why and what to check."""


class GcpError(GcpUnavailable):
    """Cloud Asset Inventory refused or could not be reached: the message says what to check."""


def search_from_environment(skip: bool, transport: Transport | None = None) -> GcpSearch | str | None:
    """How the audit searches the cell's GCP project: a search with the token in $GOOGLE_OAUTH_ACCESS_TOKEN,
    why it cannot (no token), or None (skipped on purpose)."""
    if skip:
        return None
    token = os.environ.get(GCP_TOKEN_ENV)
    if not token:
        return (
            f"no GCP access token: set {GCP_TOKEN_ENV} (e.g. $(gcloud auth print-access-token)) with "
            "roles/cloudasset.viewer on the project, or pass --skip-gcp"
        )
    via = transport or urllib_transport
    return lambda project: search_all_resources(project, token, via)


def search_all_resources(project: str, token: str, transport: Transport = urllib_transport) -> list[GcpAsset]:
    """Every asset of `project`, page by page."""
    assets: list[GcpAsset] = []
    page_token = ""
    for _ in range(MAX_PAGES):
        query = {"pageSize": str(PAGE_SIZE), **({"pageToken": page_token} if page_token else {})}
        url = f"{CLOUD_ASSET_API}/projects/{quote(project, safe='')}:searchAllResources?{urlencode(query)}"
        try:
            response = transport(HttpRequest("GET", url, {"Authorization": f"Bearer {token}"}))
        except EdgeError as exc:  # the shared transport's network failure
            raise GcpError(f"Cloud Asset Inventory of {project}: {exc}") from None
        try:
            body = json.loads(response.body or b"{}")
        except ValueError:
            body = {}
        if response.status != 200:
            message = (body.get("error") or {}).get("message", "") if isinstance(body, dict) else ""
            raise GcpError(_explain(project, response.status, message))
        for r in body.get("results", []):
            assets.append(GcpAsset(r.get("name", ""), r.get("assetType", ""), r.get("location", "")))
        page_token = body.get("nextPageToken", "")
        if not page_token:
            return assets
    raise GcpError(f"Cloud Asset Inventory of {project}: more than {MAX_PAGES} pages; narrow the search")


def _explain(project: str, status: int, message: str) -> str:
    said = f"HTTP {status}" + (f": {message}" if message else "")
    if status == 401:
        hint = "the token is invalid or expired; refresh it (gcloud auth print-access-token)"
    elif status == 403:
        hint = (
            "grant roles/cloudasset.viewer on the project to these credentials and enable "
            "cloudasset.googleapis.com"
        )
    elif status == 404:
        hint = f"check myark:cell.gcp.project: no project {project} is visible"
    elif status == 429:
        hint = "the Cloud Asset API rate-limited the caller; re-run in a minute"
    else:
        hint = "re-run later; if it persists check the Cloud Asset API's status"
    return f"Cloud Asset Inventory search of project {project} failed ({said}); {hint}."
