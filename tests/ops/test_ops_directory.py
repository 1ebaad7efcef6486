"""drain / activate / down against a moto account: the directory and the edge move together, idempotently,
and a zone never loses its last active cell by accident."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import botocore.client
import pytest
import yaml
from botocore.exceptions import ClientError, NoCredentialsError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from ops_support import client, create_cell_health_check, fake_credentials, run

from cells.ops.directory import Refused, check_zone_keeps_active, effective
from cells.ops.edge import HttpRequest, HttpResponse

GLOBAL_REGION = "us-east-1"  # myark:global.region of the project's global stack
TABLE = "myark-cell-directory"  # cells/infra/components/control_plane.py
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
NAMESPACE_ID = "fedcba9876543210fedcba9876543210"
TOKEN = "test-token"
SPARE = "eu-spare"  # a second cell of zone eu, added to the fleet copy


def edit_all(root: Path, change) -> None:
    for path in root.glob("Pulumi.*.yaml"):
        doc = yaml.safe_load(path.read_text())
        change(doc["config"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def add_spare_cell(root: Path) -> None:
    """A non-default eu cell in eu-west-3, derived from the eu pilot's stack file."""
    doc = yaml.safe_load((root / "Pulumi.eu-central-1.yaml").read_text())
    cell = doc["config"]["myark:cell"]
    cell.update(name=SPARE, region="eu-west-3", defaultForZone=False)
    cell.pop("pilot", None)
    cell["network"]["cidr"] = "10.200.0.0/16"
    cell["gcp"]["project"] = "myark-eu-spare"
    cell["shards"]["physical"] = {f"{SPARE}-a": f"0-{cell['shards']['logical'] - 1}"}
    (root / f"Pulumi.{SPARE}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


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
    client("dynamodb", region_name=GLOBAL_REGION).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "myark:role", "Value": "cell-directory"}],
    )


def health_checks(root: Path) -> None:
    """One Route53 health check per cell of the fleet, tagged as the cell stacks register them."""
    r53 = client("route53", region_name=GLOBAL_REGION)
    for stack in root.glob("Pulumi.*.yaml"):
        cell = (yaml.safe_load(stack.read_text())["config"].get("myark:cell") or {}).get("name")
        if not cell:
            continue
        create_cell_health_check(r53, cell)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto account with the global stack's cell directory table."""
    fake_credentials(monkeypatch, GLOBAL_REGION)
    for key in ("MYARK_KV_NAMESPACE_ID", "CLOUDFLARE_API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        directory_table()
        yield


@pytest.fixture
def route53_fleet(fleet_copy: Path, account: None) -> Path:
    """The project's fleet plus eu-spare, Route53 edge: one health check per cell."""
    add_spare_cell(fleet_copy)
    health_checks(fleet_copy)
    return fleet_copy


@pytest.fixture
def cloudflare_fleet(fleet_copy: Path, account: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    add_spare_cell(fleet_copy)
    edit_all(fleet_copy, use_cloudflare)
    monkeypatch.setenv("MYARK_KV_NAMESPACE_ID", NAMESPACE_ID)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    return fleet_copy


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


# ---- Cloudflare edge ----------------------------------------------------------------------------


def test_drain_then_activate_round_trip_through_kv_and_directory(cloudflare_fleet: Path, capsys) -> None:
    kv = FakeKV()
    assert run(["drain", SPARE], cloudflare_fleet, transport=kv) == 0
    out = capsys.readouterr().out
    assert f"directory (DynamoDB {TABLE} in us-east-1): active (no item) -> draining" in out
    assert f"edge (Cloudflare KV status:{SPARE}): active (unset) -> draining" in out
    assert kv.values == {f"status:{SPARE}": "draining"}
    (put,) = kv.puts
    assert put.url == (
        f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT_ID}/storage/kv/namespaces/{NAMESPACE_ID}"
        f"/values/status%3A{SPARE}"
    )
    assert put.headers["Authorization"] == f"Bearer {TOKEN}"
    record = item(SPARE)
    assert record is not None
    assert record["status"] == "draining" and record["previousStatus"] == "active" and record["zone"] == "eu"
    assert record["updatedBy"].startswith("arn:aws:sts::") and record["updatedAt"].endswith("Z")

    assert run(["drain", SPARE], cloudflare_fleet, transport=kv) == 0  # idempotent: nothing written
    again = capsys.readouterr().out
    assert again.count("(unchanged)") == 2 and len(kv.puts) == 1

    assert run(["activate", SPARE], cloudflare_fleet, transport=kv) == 0
    out = capsys.readouterr().out
    assert "draining -> active" in out
    assert kv.values[f"status:{SPARE}"] == "active"
    assert (item(SPARE) or {}).get("previousStatus") == "draining" and status_of(SPARE) == "active"


def test_down_writes_down_to_kv_so_the_worker_answers_503(cloudflare_fleet: Path, capsys) -> None:
    kv = FakeKV()
    assert run(["down", SPARE], cloudflare_fleet, transport=kv) == 0
    assert kv.values == {f"status:{SPARE}": "down"}
    assert status_of(SPARE) == "down"
    assert "active (unset) -> down" in capsys.readouterr().out


def test_a_refused_token_changes_nothing(cloudflare_fleet: Path, capsys) -> None:
    kv = FakeKV()
    kv.fail_with = 403
    assert run(["drain", SPARE], cloudflare_fleet, transport=kv) == 1
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "Workers KV Storage: Edit" in err and "Traceback" not in err
    assert item(SPARE) is None  # the edge is read before anything is written


def test_an_edge_failure_after_the_directory_write_is_finished_by_a_rerun(
    cloudflare_fleet: Path, capsys
) -> None:
    kv = FakeKV()
    real = kv.__call__

    def put_fails(request: HttpRequest) -> HttpResponse:
        return HttpResponse(500, b"{}") if request.method == "PUT" else real(request)

    assert run(["drain", SPARE], cloudflare_fleet, transport=put_fails) == 1
    err = capsys.readouterr().err
    assert "active (no item) -> draining, but the edge was not updated" in err and "Re-run" in err
    assert status_of(SPARE) == "draining"
    assert run(["drain", SPARE], cloudflare_fleet, transport=kv) == 0
    out = capsys.readouterr().out
    assert "draining (unchanged)" in out and "active (unset) -> draining" in out
    assert kv.values == {f"status:{SPARE}": "draining"}


def test_cloudflare_edge_without_namespace_or_token_is_bad_input(
    cloudflare_fleet: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("MYARK_KV_NAMESPACE_ID")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    assert run(["drain", SPARE], cloudflare_fleet, transport=FakeKV()) == 2
    err = capsys.readouterr().err
    assert "MYARK_KV_NAMESPACE_ID (or --kv-namespace-id)" in err and "CLOUDFLARE_API_TOKEN" in err
    assert item(SPARE) is None


def test_flags_stand_in_for_the_environment(cloudflare_fleet: Path, monkeypatch) -> None:
    monkeypatch.delenv("MYARK_KV_NAMESPACE_ID")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    kv = FakeKV()
    argv = ["drain", SPARE, "--kv-namespace-id", NAMESPACE_ID, "--cloudflare-api-token", TOKEN]
    assert run(argv, cloudflare_fleet, transport=kv) == 0
    assert NAMESPACE_ID in kv.puts[0].url


# ---- Route53 edge -------------------------------------------------------------------------------


def test_route53_drain_down_activate_invert_only_this_cells_health_check(route53_fleet: Path, capsys) -> None:
    assert run(["drain", SPARE], route53_fleet) == 0
    out = capsys.readouterr().out
    assert "inverted=false -> inverted=true" in out and "edge (Route53 health check " in out
    assert inverted(SPARE) and not inverted("eu-central-1")

    assert run(["down", SPARE], route53_fleet) == 0  # same DNS effect: only the directory moves
    out = capsys.readouterr().out
    assert "draining -> down" in out and "inverted=true -> inverted=true (unchanged)" in out
    assert "it cannot answer 503 (down has the DNS effect of drain)" in out
    assert status_of(SPARE) == "down"

    assert run(["activate", SPARE], route53_fleet) == 0
    assert not inverted(SPARE) and status_of(SPARE) == "active"
    assert run(["activate", SPARE], route53_fleet) == 0
    assert capsys.readouterr().out.count("(unchanged)") == 2


def test_a_cell_without_its_health_check_is_reported(route53_fleet: Path, capsys) -> None:
    r53 = client("route53", region_name=GLOBAL_REGION)
    for hc in r53.list_health_checks()["HealthChecks"]:
        if hc["CallerReference"] == SPARE:
            r53.delete_health_check(HealthCheckId=hc["Id"])
    assert run(["drain", SPARE], route53_fleet) == 1
    err = capsys.readouterr().err
    assert f"myark:role=cell-health and myark:cell={SPARE}, found none" in err
    assert item(SPARE) is None


# ---- the zone keeps an active cell --------------------------------------------------------------


def test_the_last_active_cell_of_a_zone_is_refused_then_forced(route53_fleet: Path, capsys) -> None:
    for other in zone_cells_except(route53_fleet, "eu-central-1"):
        put_status(other, "down")
    assert run(["drain", "eu-central-1"], route53_fleet) == 2
    err = capsys.readouterr().err
    assert "refusing to drain eu-central-1: it is the last active cell of zone eu" in err and "--force" in err
    assert item("eu-central-1") is None and not inverted("eu-central-1")

    assert run(["down", "eu-central-1", "--force"], route53_fleet) == 0
    assert status_of("eu-central-1") == "down" and inverted("eu-central-1")


def test_a_cell_missing_from_the_directory_counts_as_active(route53_fleet: Path) -> None:
    # No items at all: eu-spare is active by default, so eu-central-1 may drain.
    assert run(["drain", "eu-central-1"], route53_fleet) == 0
    # Now eu-central-1 is draining: eu-spare is the last active cell of eu.
    assert run(["drain", SPARE], route53_fleet) == 2


def test_unknown_cell_is_bad_input(route53_fleet: Path, capsys) -> None:
    assert run(["drain", "mars-1"], route53_fleet) == 2
    assert "unknown cell 'mars-1'; cells of the fleet:" in capsys.readouterr().err


def test_a_stale_read_is_cancelled_by_the_transaction_and_retried_on_fresh_data(
    route53_fleet: Path, monkeypatch, capsys
) -> None:
    from cells.ops import directory

    put_status(SPARE, "down")  # someone else took it down after our read: our first snapshot is stale
    real = directory.CellDirectory.snapshot
    calls: list[int] = []

    def stale_once(self, zone, cells):
        calls.append(1)
        return directory.Snapshot(0, dict.fromkeys(cells)) if len(calls) == 1 else real(self, zone, cells)

    monkeypatch.setattr(directory.CellDirectory, "snapshot", stale_once)
    assert run(["drain", SPARE], route53_fleet) == 0
    assert len(calls) == 2  # the transaction refused the stale write; the retry read "down"
    assert "down -> draining" in capsys.readouterr().out
    assert status_of(SPARE) == "draining" and (item(SPARE) or {})["previousStatus"] == "down"


def test_a_zone_that_keeps_changing_gives_up_without_writing(
    route53_fleet: Path, monkeypatch, capsys
) -> None:
    from cells.ops import directory

    put_status(SPARE, "down")
    monkeypatch.setattr(
        directory.CellDirectory,
        "snapshot",
        lambda self, zone, cells: directory.Snapshot(0, dict.fromkeys(cells)),
    )
    monkeypatch.setattr(directory, "_backoff", lambda attempt: None)
    assert run(["drain", SPARE], route53_fleet) == 1
    err = capsys.readouterr().err
    assert f"zone eu kept changing under this command ({directory.ATTEMPTS} attempts" in err
    assert status_of(SPARE) == "down" and not inverted(SPARE) and zone_item() is None


def test_every_change_bumps_the_zone_version_in_the_same_transaction(route53_fleet: Path) -> None:
    assert run(["drain", SPARE], route53_fleet) == 0
    assert run(["activate", SPARE], route53_fleet) == 0
    assert run(["activate", SPARE], route53_fleet) == 0  # unchanged: no write, no bump
    zone = zone_item() or {}
    assert zone["version"] == {"N": "2"} and zone["lastChange"] == {"S": f"activate {SPARE}"}


def test_a_crash_between_directory_and_edge_is_repaired_by_the_next_command_on_any_cell(
    route53_fleet: Path, capsys
) -> None:
    put_status(SPARE, "down")  # as a drain that died after its transaction would leave it
    assert not inverted(SPARE)
    assert run(["activate", "eu-central-1"], route53_fleet) == 0  # another cell's command
    assert "repaired drift of eu-spare: edge (Route53 health check" in capsys.readouterr().out
    assert inverted(SPARE)


def test_reconcile_reports_and_repairs_drift(route53_fleet: Path, capsys) -> None:
    put_status(SPARE, "draining")
    assert run(["reconcile", "--zone", "eu"], route53_fleet) == 0
    out = capsys.readouterr().out
    assert f"{SPARE}: directory draining; edge (Route53 health check" in out and "(REPAIRED drift)" in out
    assert "eu-central-1: directory active (no item);" in out and "1 drifted" in out
    assert inverted(SPARE)
    assert run(["reconcile", SPARE], route53_fleet) == 0
    assert "(in sync)" in capsys.readouterr().out


def test_reconcile_flags_a_zone_without_an_active_cell(route53_fleet: Path, capsys) -> None:
    for cell in ["eu-central-1", *zone_cells_except(route53_fleet, "eu-central-1")]:
        put_status(cell, "down")
    assert run(["reconcile", "--zone", "eu"], route53_fleet) == 1
    assert "zone eu has no active cell" in capsys.readouterr().err


def test_reconcile_of_an_unknown_zone_is_bad_input(route53_fleet: Path, capsys) -> None:
    assert run(["reconcile", "--zone", "mars"], route53_fleet) == 2
    assert "--zone mars: no cell of the fleet is in that zone; zones with cells:" in capsys.readouterr().err


def test_no_directory_table_is_reported(route53_fleet: Path, capsys) -> None:
    client("dynamodb", region_name=GLOBAL_REGION).delete_table(TableName=TABLE)
    assert run(["drain", SPARE], route53_fleet) == 1
    assert "expected one DynamoDB table tagged myark:role=cell-directory in us-east-1, found none" in (
        capsys.readouterr().err
    )


# ---- AWS errors: one message, exit 1, never a traceback ------------------------------------------


def fail_on(monkeypatch: pytest.MonkeyPatch, operation: str, error: Exception) -> None:
    real = botocore.client.BaseClient._make_api_call

    def fake(self, operation_name: str, params: dict[str, Any]):
        if operation_name == operation:
            raise error
        return real(self, operation_name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", fake)


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}}, operation)


@pytest.mark.parametrize(
    ("operation", "error", "expected"),
    [
        (
            "TransactWriteItems",
            client_error("AccessDeniedException", "TransactWriteItems"),
            "dynamodb:TransactWriteItems in us-east-1 was denied (AccessDeniedException",
        ),
        (
            "GetResources",
            client_error("ThrottlingException", "GetResources"),
            "resourcegroupstaggingapi:GetResources in us-east-1 was throttled",
        ),
        (
            "TransactGetItems",
            NoCredentialsError(),
            "dynamodb:TransactGetItems in us-east-1: no usable AWS credentials",
        ),
        (
            "UpdateHealthCheck",
            client_error("AccessDenied", "UpdateHealthCheck"),
            "allows route53:UpdateHealthCheck",
        ),
    ],
    ids=["denied", "throttled", "no-credentials", "route53-denied"],
)
def test_aws_errors_become_one_clear_message(
    route53_fleet: Path, monkeypatch, capsys, operation, error, expected
) -> None:
    fail_on(monkeypatch, operation, error)
    assert run(["drain", SPARE], route53_fleet) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.startswith("drain: ") and captured.err.count("\n") == 1


# ---- the rule itself ----------------------------------------------------------------------------

STATUS = st.sampled_from([None, "active", "draining", "down"])


@given(
    statuses=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), STATUS, min_size=1),
    target=st.sampled_from(["draining", "down"]),
)
def test_an_allowed_change_never_empties_a_zone_that_had_an_active_cell(statuses, target) -> None:
    cell = sorted(statuses)[0]
    before_active = any(effective(s) == "active" for s in statuses.values())
    try:
        check_zone_keeps_active(cell, "eu", target, statuses, force=False)
    except Refused:
        return
    after = {**statuses, cell: target}
    moved = effective(statuses[cell]) != target
    assert not moved or not before_active or any(effective(s) == "active" for s in after.values())


def test_another_cells_broken_edge_does_not_fail_this_cells_command(route53_fleet: Path, capsys) -> None:
    r53 = client("route53", region_name=GLOBAL_REGION)
    for hc in r53.list_health_checks()["HealthChecks"]:
        if hc["CallerReference"] == "us-east-1":  # the us cell's stack is not deployed yet
            r53.delete_health_check(HealthCheckId=hc["Id"])
    assert run(["drain", SPARE], route53_fleet) == 0
    captured = capsys.readouterr()
    assert inverted(SPARE) and status_of(SPARE) == "draining"
    assert "note: could not check the edge of us-east-1: Route53: expected one health check" in captured.err
