"""drain / activate / down at each edge, on moto: the Cloudflare KV key or the Route53 health check follows
the directory; an AWS or edge error is one message and exit 1, and changes nothing it should not."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import NoCredentialsError
from directory_support import (
    ACCOUNT_ID,
    GLOBAL_REGION,
    NAMESPACE_ID,
    SPARE,
    TABLE,
    TOKEN,
    FakeKV,
    inverted,
    item,
    status_of,
)
from ops_support import client, client_error, fail_on, run

from cells.ops.edge import HttpRequest, HttpResponse

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


def test_another_cells_broken_edge_does_not_fail_this_cells_command(route53_fleet: Path, capsys) -> None:
    r53 = client("route53", region_name=GLOBAL_REGION)
    for hc in r53.list_health_checks()["HealthChecks"]:
        if hc["CallerReference"] == "us-east-1":  # the us cell's stack is not deployed yet
            r53.delete_health_check(HealthCheckId=hc["Id"])
    assert run(["drain", SPARE], route53_fleet) == 0
    captured = capsys.readouterr()
    assert inverted(SPARE) and status_of(SPARE) == "draining"
    assert "note: could not check the edge of us-east-1: Route53: expected one health check" in captured.err


# ---- AWS errors: one message, exit 1, never a traceback ------------------------------------------


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
