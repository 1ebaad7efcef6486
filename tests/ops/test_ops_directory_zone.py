"""The zone keeps an active cell, under concurrency and after crashes: the rule, the transaction that
enforces it, the edge repaired by the next command, and `reconcile` (moto, Route53 edge)."""

from __future__ import annotations

from pathlib import Path

from directory_support import (
    GLOBAL_REGION,
    SPARE,
    TABLE,
    inverted,
    item,
    put_status,
    status_of,
    zone_cells_except,
    zone_item,
)
from hypothesis import given
from hypothesis import strategies as st
from ops_support import client, run

from cells.ops.directory import Refused, check_zone_keeps_active, effective

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
