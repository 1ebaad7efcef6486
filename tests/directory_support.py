"""What the tests of drain / activate / down / reconcile share: the fleet with a second eu cell, at a
Route53 or a Cloudflare edge; Cloudflare's KV API in memory; reading and writing the directory in moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from ops_support import DIRECTORY_TABLE as TABLE
from ops_support import add_cell, client, create_cell_health_check, create_directory_table

from cells.ops.edge import HttpRequest, HttpResponse

GLOBAL_REGION = "us-east-1"  # myark:global.region of the project's global stack
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
NAMESPACE_ID = "fedcba9876543210fedcba9876543210"
TOKEN = "test-token"
SPARE = "eu-spare"  # a second cell of zone eu, added to the fleet copy
KV_SETTINGS = ("MYARK_KV_NAMESPACE_ID", "CLOUDFLARE_API_TOKEN")


def edit_all(root: Path, change) -> None:
    for path in root.glob("Pulumi.*.yaml"):
        doc = yaml.safe_load(path.read_text())
        change(doc["config"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def add_spare_cell(root: Path) -> None:
    """A non-default eu cell in eu-west-3, derived from the eu pilot's stack file."""
    add_cell(root, SPARE, "eu-west-3", "10.200.0.0/16")


def use_cloudflare(cfg: dict[str, Any]) -> None:
    cfg["myark:edge"] = {
        "provider": "cloudflare",
        "cloudflareAccountId": ACCOUNT_ID,
        "cloudflareZoneId": "a" * 32,
    }
    cfg["myark:cloudflareApiToken"] = {"secure": "v1:AAAA"}


class FakeKV:
    """Cloudflare's KV values endpoint, in memory: records every request."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.requests: list[HttpRequest] = []
        self.fail_with: int | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" or self.fail_with == 403:
            return HttpResponse(
                403,
                json.dumps(
                    {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
                ).encode(),
            )
        if self.fail_with:
            return HttpResponse(
                self.fail_with, b'{"success": false, "errors": [{"code": 10001, "message": "boom"}]}'
            )
        key = unquote(request.url.rsplit("/values/", 1)[1])
        if request.method == "GET":
            if key not in self.values:
                return HttpResponse(
                    404,
                    b'{"success": false, "errors": [{"code": 10009, "message": "get: \'key not found\'"}]}',
                )
            return HttpResponse(200, self.values[key].encode())
        assert request.method == "PUT"
        self.values[key] = (request.body or b"").decode()
        return HttpResponse(200, b'{"success": true, "errors": [], "messages": [], "result": null}')

    @property
    def puts(self) -> list[HttpRequest]:
        return [r for r in self.requests if r.method == "PUT"]


def directory_table() -> None:
    """The global stack's cell directory, as it deploys it (no items yet)."""
    create_directory_table(client("dynamodb", region_name=GLOBAL_REGION))


def health_checks(root: Path) -> None:
    """One Route53 health check per cell of the fleet, tagged as the cell stacks register them."""
    r53 = client("route53", region_name=GLOBAL_REGION)
    for stack in root.glob("Pulumi.*.yaml"):
        cell = (yaml.safe_load(stack.read_text())["config"].get("myark:cell") or {}).get("name")
        if not cell:
            continue
        create_cell_health_check(r53, cell)


def item(cell: str) -> dict[str, str] | None:
    got = client("dynamodb", region_name=GLOBAL_REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": f"cell#{cell}"}}
    )
    return {k: v["S"] for k, v in got["Item"].items()} if "Item" in got else None


def zone_item(zone: str = "eu") -> dict | None:
    return (
        client("dynamodb", region_name=GLOBAL_REGION)
        .get_item(TableName=TABLE, Key={"pk": {"S": f"zone#{zone}"}})
        .get("Item")
    )


def status_of(cell: str) -> str | None:
    return (item(cell) or {}).get("status")


def put_status(cell: str, status: str) -> None:
    client("dynamodb", region_name=GLOBAL_REGION).put_item(
        TableName=TABLE, Item={"pk": {"S": f"cell#{cell}"}, "status": {"S": status}, "zone": {"S": "eu"}}
    )


def inverted(cell: str) -> bool:
    r53 = client("route53", region_name=GLOBAL_REGION)
    for hc in r53.list_health_checks()["HealthChecks"]:
        if hc["CallerReference"] == cell:
            return bool(hc["HealthCheckConfig"].get("Inverted"))
    raise AssertionError(f"no health check for {cell}")


def zone_cells_except(root: Path, zone_cell: str) -> list[str]:
    """Every other cell of zone eu in the fleet copy (the project may grow more)."""
    from cells.core.fleet import load_fleet

    fleet = load_fleet(root)
    return [s.cell.name for s in fleet.cells_in_zone("eu") if s.cell.name != zone_cell]
