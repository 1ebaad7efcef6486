"""A cell's status at the edge: a Workers KV key (Cloudflare) or an inverted health check (Route53).

Cloudflare: the Worker reads `status:<cell>` (active | draining | down; missing means active) and
routes per user: draining serves the cell's own users but sends no new ones, down answers 503.
Route53 routes per DNS query, not per user: drain and down both invert the cell's health check, so
the zone's geolocation records stop answering with that cell (failover stays inside the zone). It
cannot answer 503; clients that already know `<cell>.api.<domain>` still reach the cell.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from cells.core.errors import ConfigError
from cells.core.fleet import Fleet
from cells.core.naming import TAG_CELL, TAG_ROLE
from cells.ops.aws import Aws, AwsError

CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
KV_NAMESPACE_ENV = "MYARK_KV_NAMESPACE_ID"
CLOUDFLARE_TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
KV_KEY_NOT_FOUND = 10009  # Cloudflare's error code for a missing key (HTTP 404)
ROUTE53_REGION = "us-east-1"  # Route53 is global; its API lives in us-east-1
HEALTH_ROLE = "cell-health"


class EdgeError(Exception):
    """The edge refused or could not be reached: the message says what to check."""


class EdgeConflict(EdgeError):
    """The edge changed between our read and our write (another command): read again and retry."""


class Edge(Protocol):
    place: str

    def state(self) -> str: ...

    def state_for(self, status: str) -> str: ...

    def set(self, status: str) -> None: ...


# ---- Cloudflare Workers KV over its REST API -----------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""


Transport = Callable[[HttpRequest], HttpResponse]


def urllib_transport(request: HttpRequest, timeout: float = 15.0) -> HttpResponse:
    """The real transport: HTTP errors come back as responses, network failures as EdgeError."""
    req = urllib.request.Request(
        request.url, data=request.body, method=request.method, headers=dict(request.headers)
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return HttpResponse(resp.status, resp.read())
    except urllib.error.HTTPError as exc:
        return HttpResponse(exc.code, exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EdgeError(
            f"{request.method} {request.url}: could not reach the Cloudflare API ({reason}). "
            "Check network access and any HTTPS_PROXY."
        ) from None


def _cloudflare_errors(body: bytes) -> list[dict]:
    try:
        return list(json.loads(body or b"{}").get("errors") or [])
    except (ValueError, AttributeError):
        return []


class CloudflareKV:
    """Reads and writes single keys of one Workers KV namespace."""

    def __init__(
        self, account_id: str, namespace_id: str, token: str, transport: Transport = urllib_transport
    ):
        self.account_id = account_id
        self.namespace_id = namespace_id
        self._token = token
        self._transport = transport

    def url(self, key: str) -> str:
        return (
            f"{CLOUDFLARE_API}/accounts/{self.account_id}/storage/kv/namespaces/{self.namespace_id}"
            f"/values/{quote(key, safe='')}"
        )

    def get(self, key: str) -> str | None:
        response = self._send("GET", key)
        if response.status == 404 and any(
            e.get("code") == KV_KEY_NOT_FOUND for e in _cloudflare_errors(response.body)
        ):
            return None
        self._raise_for(response, "GET", key)
        return response.body.decode("utf-8")

    def put(self, key: str, value: str) -> None:
        response = self._send("PUT", key, value.encode("utf-8"))
        self._raise_for(response, "PUT", key)

    def _send(self, method: str, key: str, body: bytes | None = None) -> HttpResponse:
        headers = {"Authorization": f"Bearer {self._token}"}
        if body is not None:
            headers["Content-Type"] = "text/plain"
        return self._transport(HttpRequest(method, self.url(key), headers, body))

    def _raise_for(self, response: HttpResponse, method: str, key: str) -> None:
        if 200 <= response.status < 300:
            return
        errors = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in _cloudflare_errors(response.body))
        said = f"HTTP {response.status}" + (f", {errors}" if errors else "")
        where = f"Cloudflare KV {method} {key} (account {self.account_id}, namespace {self.namespace_id})"
        if response.status in (401, 403):
            hint = (
                "Check that CLOUDFLARE_API_TOKEN is valid and has the Workers KV Storage: Edit permission "
                "on this account."
            )
        elif response.status == 404:
            hint = "Check MYARK_KV_NAMESPACE_ID: it must be the global stack's directory KV namespace."
        elif response.status == 429:
            hint = "Cloudflare rate-limited the token; wait a minute and re-run."
        elif response.status >= 500:
            hint = "Cloudflare's API failed; re-run later (see www.cloudflarestatus.com)."
        else:
            hint = "Check the request against Cloudflare's Workers KV API."
        raise EdgeError(f"{where} failed ({said}). {hint}")


class CloudflareEdge:
    """The cell's `status:<cell>` key, read by the Worker (missing means active)."""

    def __init__(self, kv: CloudflareKV, cell: str) -> None:
        self.kv = kv
        self.key = f"status:{cell}"
        self.place = f"edge (Cloudflare KV {self.key})"
        self._value: str | None = None
        self._read = False

    def _current(self) -> str | None:
        if not self._read:
            self._value, self._read = self.kv.get(self.key), True
        return self._value

    def state(self) -> str:
        value = self._current()
        return "active (unset)" if value is None else value

    def state_for(self, status: str) -> str:
        if status == "active" and self._current() is None:
            return "active (unset)"  # missing already means active: nothing to write
        return status

    def set(self, status: str) -> None:
        self.kv.put(self.key, status)
        self._value, self._read = status, True


# ---- Route53 health check ------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthCheck:
    id: str
    version: int
    inverted: bool


def health_check_ids(aws: Aws) -> dict[str, list[str]]:
    """Health check ids by cell, from the tags `myark:role=cell-health` and `myark:cell=<cell>`."""
    ids = [
        hc["Id"]
        for page in aws.pages("route53", ROUTE53_REGION, "list_health_checks")
        for hc in page.get("HealthChecks", [])
    ]
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 10):  # ListTagsForResources takes at most 10 ids
        response = aws.call(
            "route53",
            ROUTE53_REGION,
            "list_tags_for_resources",
            ResourceType="healthcheck",
            ResourceIds=ids[start : start + 10],
        )
        for tag_set in response.get("ResourceTagSets", []):
            tags = {t["Key"]: t["Value"] for t in tag_set.get("Tags", [])}
            if tags.get(TAG_ROLE) == HEALTH_ROLE and TAG_CELL in tags:
                out.setdefault(tags[TAG_CELL], []).append(tag_set["ResourceId"])
    return out


def find_health_check(aws: Aws, cell: str, ids: dict[str, list[str]] | None = None) -> HealthCheck:
    """The one health check of the cell, read now (`ids`: from `health_check_ids`, read once)."""
    mine = (health_check_ids(aws) if ids is None else ids).get(cell, [])
    if len(mine) != 1:
        found = ", ".join(mine) if mine else "none"
        raise EdgeError(
            f"Route53: expected one health check tagged {TAG_ROLE}={HEALTH_ROLE} and {TAG_CELL}={cell}, "
            f"found {found}. Check that the cell's stack is deployed (it registers its health check) "
            "and that these credentials see the account holding the hosted zone."
        )
    hc = aws.call("route53", ROUTE53_REGION, "get_health_check", HealthCheckId=mine[0])["HealthCheck"]
    return HealthCheck(
        id=hc["Id"],
        version=int(hc.get("HealthCheckVersion", 1)),
        inverted=bool(hc.get("HealthCheckConfig", {}).get("Inverted", False)),
    )


class Route53Edge:
    """The cell's health check: inverted while draining or down, so DNS stops answering with it."""

    def __init__(self, aws: Aws, cell: str, ids: dict[str, list[str]] | None = None) -> None:
        self.aws = aws
        self.cell = cell
        self._ids = ids
        self._check: HealthCheck | None = None
        self.place = f"edge (Route53 health check of {cell})"

    def _current(self) -> HealthCheck:
        if self._check is None:
            self._check = find_health_check(self.aws, self.cell, self._ids)
            self.place = f"edge (Route53 health check {self._check.id})"
        return self._check

    def state(self) -> str:
        return f"inverted={str(self._current().inverted).lower()}"

    def state_for(self, status: str) -> str:
        return f"inverted={str(status != 'active').lower()}"

    def set(self, status: str) -> None:
        check = self._current()
        try:
            self.aws.call(
                "route53",
                ROUTE53_REGION,
                "update_health_check",
                HealthCheckId=check.id,
                HealthCheckVersion=check.version,
                Inverted=status != "active",
            )
        except AwsError as exc:
            if exc.code == "HealthCheckVersionMismatch":
                raise EdgeConflict(
                    f"Route53 health check {check.id} changed while this command ran; re-run it."
                ) from None
            raise
        self._check = HealthCheck(check.id, check.version + 1, status != "active")


# ---- the fleet's edge --------------------------------------------------------------------------


def edges_of(
    fleet: Fleet,
    aws: Aws,
    kv_namespace_id: str | None = None,
    cloudflare_api_token: str | None = None,
    transport: Transport | None = None,
) -> Callable[[str], Edge]:
    """A fresh view of any cell's edge (each call reads the edge again), for the global stack's edge
    provider. Cloudflare needs the directory's KV namespace and a token: given, or from
    $MYARK_KV_NAMESPACE_ID and $CLOUDFLARE_API_TOKEN (a ConfigError names what is missing)."""
    glob = fleet.global_stack
    if glob.config.edge.provider == "route53":
        ids: dict[str, list[str]] = {}

        def route53(cell: str) -> Route53Edge:
            # Which check is the cell's is read once per command; its state is read fresh every time.
            if not ids:
                ids.update(health_check_ids(aws))
            return Route53Edge(aws, cell, ids)

        return route53
    namespace = kv_namespace_id or os.environ.get(KV_NAMESPACE_ENV)
    token = cloudflare_api_token or os.environ.get(CLOUDFLARE_TOKEN_ENV)
    missing = [
        f"{name} (or {flag})"
        for name, flag, value in (
            (KV_NAMESPACE_ENV, "--kv-namespace-id", namespace),
            (CLOUDFLARE_TOKEN_ENV, "--cloudflare-api-token", token),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{glob.file}: the edge is cloudflare; set {' and '.join(missing)} to write status:<cell> to the "
            "directory KV namespace"
        )
    account = glob.config.edge.cloudflare_account_id or ""
    kv = CloudflareKV(account, str(namespace), str(token), transport or urllib_transport)
    return lambda cell: CloudflareEdge(kv, cell)
