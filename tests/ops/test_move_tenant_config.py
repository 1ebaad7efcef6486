"""A tenant in transit: `shards.tenants.<id>.movingFrom` on the target cell, so both cells provision the
tenant's database and dataset during a move; refused shapes exit 2 with one line; a real tenant move
from a fleet set up that way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto import mock_aws
from move_support import US, build
from ops_support import fake_credentials

from cells.cli.main import main as cli_main
from cells.core.fleet import load_fleet
from cells.offline.plan import record_plan
from cells.ops.move import Mover
from cells.ops.move_api import cell_infos
from cells.ops.move_plan import MoveRefused
from cells.ops.move_stores import dataset_id
from cells.ops.move_world import plan_tenant

WEST = "us-west-2"
ACME = "acme-insurance"
INCOMING = {"physical": "tenant-acme-insurance", "dedicatedKmsKey": True, "movingFrom": US}


def add_us_cell(root: Path, name: str, cidr: str) -> None:
    """Another cell of zone us, copied from us-east-1, holding no tenant."""
    src = (root / "Pulumi.us-east-1.yaml").read_text()
    doc = yaml.safe_load(src.replace("us-east-1", name).replace("10.16.0.0/16", cidr))
    cell = doc["config"]["myark:cell"]
    cell["defaultForZone"] = False
    cell["shards"].pop("tenants", None)
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def edit_cell(root: Path, stack: str, change: Callable[[dict[str, Any]], object]) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"]["myark:cell"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def tenants(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda cell: cell["shards"].__setitem__("tenants", value)


@pytest.fixture
def moving(fleet_copy: Path) -> Path:
    """The fleet with us-west-2 and acme-insurance on its way there from us-east-1."""
    add_us_cell(fleet_copy, WEST, "10.64.0.0/16")
    edit_cell(fleet_copy, WEST, tenants({ACME: INCOMING}))
    return fleet_copy


def test_an_incoming_tenant_is_accepted_and_the_target_provisions_its_stores(moving: Path) -> None:
    fleet = load_fleet(moving)
    assert fleet.stack(WEST).cell.shards.tenants[ACME].moving_from == US
    assert fleet.stack(US).cell.shards.tenants[ACME].moving_from is None, "the source still declares it"
    plan = record_plan(WEST, root=moving)
    databases = {r.inputs.get("name") for r in plan.of_type("gcp:firestore/database:Database")}
    datasets = {r.inputs.get("datasetId") for r in plan.of_type("gcp:bigquery/dataset:Dataset")}
    assert "tenant-acme-insurance" in databases
    assert datasets == {dataset_id(WEST), dataset_id(WEST, ACME)}


def second_target(root: Path) -> None:
    add_us_cell(root, "us-east-2", "10.80.0.0/16")
    edit_cell(root, "us-east-2", tenants({ACME: INCOMING}))


REFUSED: list[tuple[str, str, Callable[[Path], None], tuple[str, ...]]] = [
    (
        "unknown-source",
        WEST,
        lambda root: edit_cell(root, WEST, tenants({ACME: {**INCOMING, "movingFrom": "us-east-9"}})),
        ("shards.tenants.acme-insurance.movingFrom", "'us-east-9' is not a cell of the fleet", "us-east-1"),
    ),
    (
        "source-does-not-declare-it",
        WEST,
        lambda root: edit_cell(
            root, WEST, tenants({"globex": {"physical": "tenant-globex", "movingFrom": US}})
        ),
        ("shards.tenants.globex.movingFrom", "cell us-east-1 does not declare tenant globex"),
    ),
    (
        "other-zone",
        "eu-central-1",
        lambda root: edit_cell(root, "eu-central-1", tenants({ACME: INCOMING})),
        ("shards.tenants.acme-insurance.movingFrom", "zone 'eu'", "zone 'us'", "its residency zone"),
    ),
    (
        "two-targets",
        "us-east-2",
        lambda root: second_target(root),
        ("tenant acme-insurance is already moving to cell us-west-2", "one target at a time"),
    ),
    (
        "from-itself",
        US,
        lambda root: edit_cell(root, US, lambda c: c["shards"]["tenants"][ACME].update(movingFrom=US)),
        ("myark:cell.shards.tenants.acme-insurance.movingFrom", "'us-east-1' is this cell"),
    ),
    (
        "home-twice",
        WEST,
        lambda root: edit_cell(root, WEST, tenants({ACME: {"physical": "tenant-acme-insurance"}})),
        ("already has its home in cell us-east-1", "movingFrom: us-east-1"),
    ),
]


@pytest.mark.parametrize(
    ("stack", "change", "expected"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_bad_tenant_in_transit_is_refused_with_one_line(
    moving: Path,
    capsys: pytest.CaptureFixture[str],
    stack: str,
    change: Callable[[Path], None],
    expected: tuple[str, ...],
) -> None:
    change(moving)
    code = cli_main(["plan", stack, "--root", str(moving), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1, lines
    for part in expected:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"
    assert "Traceback" not in err and out == ""


def test_a_tenant_moves_into_a_cell_that_declares_it_incoming(
    moving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_credentials(monkeypatch, US)
    infos = cell_infos(load_fleet(moving))
    with mock_aws():
        env = build(infos)
        w = env.world
        source = w.firestore(US, "tenant-acme-insurance")
        for i in range(5):
            source.document(f"policies/p{i}").set({"i": i})
        store = w.objects(US)
        env.aws.call("s3", US, "put_object", Bucket=store.bucket, Key=f"tenants/{ACME}/a.pdf", Body=b"pdf")
        env.bigquery[US].insert(dataset_id(US, ACME), "events", [{"tenant_id": ACME, "i": 1}])
        plan = plan_tenant(w, ACME, WEST)
        assert (plan.source, plan.target, plan.zone) == (US, WEST, "us"), (
            "the incoming declaration is not a home"
        )
        assert Mover(w).run(plan)["state"] == "done"
        target = w.firestore(WEST, "tenant-acme-insurance")
        assert len(list(target.collection("policies").list_documents())) == 5
        assert w.objects(WEST).list(f"tenants/{ACME}/") == {f"tenants/{ACME}/a.pdf": 3}
        assert env.bigquery[WEST].select(dataset_id(WEST, ACME), "events", None, None) == [
            {"tenant_id": ACME, "i": 1}
        ]
        assert (w.directory.get(f"tenant#{ACME}") or {})["cell"] == WEST
        assert len(list(source.collection("policies").list_documents())) == 5, "the source waits for cleanup"


def test_a_tenant_move_into_a_cell_without_its_stores_is_refused(
    fleet_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_us_cell(fleet_copy, WEST, "10.64.0.0/16")  # us-west-2 without the incoming declaration
    fake_credentials(monkeypatch, US)
    with mock_aws():
        env = build(cell_infos(load_fleet(fleet_copy)))
        with pytest.raises(
            MoveRefused,
            match=r"us-west-2 has no Firestore database or BigQuery dataset .* movingFrom: us-east-1",
        ):
            plan_tenant(env.world, ACME, WEST)
        assert env.world.directory.get(f"move#tenant#{ACME}") is None, "nothing was journaled"
