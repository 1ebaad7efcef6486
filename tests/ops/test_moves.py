"""Moves against moto (DynamoDB, S3, Cognito), fake-firestore and an in-memory BigQuery: the properties
hold whatever step a crash interrupts, and a write during a move is applied or refused, never lost."""

from __future__ import annotations

import pytest
from fake_firestore import transactional
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from move_support import EU, US, Crash, Env, api, assert_converged, build, cells, homes, seed_user, snapshot
from ops_support import fake_credentials

from cells.ops.move import Mover
from cells.ops.move_api import Api, CellInfo, place_user
from cells.ops.move_cleanup import cleanup
from cells.ops.move_journal import journals
from cells.ops.move_plan import (
    LEASE_SECONDS,
    MoveRefused,
    rebalance_bucket,
    rebalance_slice,
    utilization,
)
from cells.ops.move_stores import MoveDirectory, RetryableWrite, dataset_id, missing_rows
from cells.ops.move_world import measure, plan_shard, plan_tenant, plan_user

EU_USER = "eu-user-7"  # an EU resident homed in the US cell before the pilot


def test_an_eu_user_moves_from_the_us_cell_into_the_pilot(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    before = snapshot(env, EU_USER, US)
    assert len(before.docs) == 12 and len(before.objects) == 5 and len(before.rows["events"]) == 5

    journal = Mover(env.world).run(plan_user(env.world, EU_USER, EU))

    assert journal["state"] == "done"
    assert journal["checksums"]["documents"] == 12 and journal["checksums"]["rows"] == 9
    assert_converged(env, EU_USER, before, EU, "eu")
    assert env.world.directory.count(US)["users"] == 0 and env.world.directory.count(EU)["users"] == 1


def test_cleanup_waits_for_the_grace_period_then_empties_the_source(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    before = snapshot(env, EU_USER, US)
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))

    env.clock.now += 3600
    results = list(cleanup(env.world, grace_hours=24))
    assert [r for _, r in results] == ["waiting: done 1.0 h ago, grace 24 h"]
    assert snapshot(env, EU_USER, US) == before

    env.clock.now += 24 * 3600
    (_journal, result), *_ = list(cleanup(env.world, grace_hours=24))
    assert result.startswith("deleted 12 documents, 5 object versions, 9 rows")
    empty = snapshot(env, EU_USER, US)
    assert not empty.docs and not empty.objects and not any(empty.rows.values())
    store = env.world.objects(US)
    versions = env.aws.call("s3", US, "list_object_versions", Bucket=store.bucket, Prefix=f"users/{EU_USER}/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers"), (
        "no old version stays in the US"
    )
    assert snapshot(env, EU_USER, EU) == before
    assert env.world.directory.get(f"move#user#{EU_USER}")["state"] == "cleaned"  # type: ignore[index]


@pytest.mark.parametrize(
    ("user", "home", "zone", "target"),
    [
        ("us-user", US, "us", EU),  # out of the US zone
        ("eu-user", EU, "eu", US),  # out of the EU zone, back into the US cell
    ],
)
def test_a_move_out_of_the_users_zone_is_refused_and_changes_nothing(
    env: Env, user: str, home: str, zone: str, target: str
) -> None:
    seed_user(env, user, home, zone)
    before = snapshot(env, user, home)
    with pytest.raises(MoveRefused, match=f"residency zone is {zone}"):
        Mover(env.world).run(plan_user(env.world, user, target))
    assert env.world.directory.get(f"move#user#{user}") is None
    assert homes(env, user) == (home, home, home, zone)
    assert "frozen" not in (env.world.directory.get(f"user#{user}") or {})
    assert snapshot(env, user, home) == before


def test_directory_and_cognito_disagreeing_on_the_zone_is_refused(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    env.world.directory.update(f"user#{EU_USER}", {"zone": "us"})  # corrupt: Cognito still says eu
    with pytest.raises(MoveRefused, match="Cognito custom:home_zone says eu"):
        plan_user(env.world, EU_USER, EU)


def test_a_full_cell_takes_no_move(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    env.world.directory.update(f"count#{EU}", {"users": env.world.cells[EU].max_users})
    with pytest.raises(MoveRefused, match="capacity"):
        Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    assert env.world.directory.get(f"move#user#{EU_USER}") is None


def test_a_cell_filling_up_during_the_copy_aborts_the_move_and_unfreezes(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    before = snapshot(env, EU_USER, US)

    def fill(point: str) -> None:
        if point == "after:verified":
            env.world.directory.update(f"count#{EU}", {"users": env.world.cells[EU].max_users})

    env.faults.hook = fill
    with pytest.raises(MoveRefused, match="aborted"):
        Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    assert homes(env, EU_USER) == (US, US, US, "eu")
    assert env.world.directory.get(f"move#user#{EU_USER}")["state"] == "aborted"  # type: ignore[index]
    assert api(env).write(EU_USER, "items/new", {"ok": True}) == US, "the user can write again"
    assert snapshot(env, EU_USER, US).docs == {**before.docs, f"users/{EU_USER}/items/new": {"ok": True}}


def test_reads_go_on_during_the_freeze_and_the_old_shard_sends_writers_on(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    the_api = api(env)
    seen: list[object] = []

    def read(point: str) -> None:
        if point == "after:copied":
            seen.append(the_api.read(EU_USER, "items/d0001"))

    env.faults.hook = read
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    assert seen == [{"n": 1, "name": "item 1", "tags": ["a", "1"]}]
    # A stale API instance still pointed at the old shard: its write is refused, naming the new cell.
    us_db = env.world.firestore(US, env.world.cells[US].shards.lookup(EU_USER))
    fence = us_db.collection("_moves").document(f"user-{EU_USER}").get().to_dict()
    assert fence is not None and fence["state"] == "moved" and fence["to"] == EU


def test_concurrent_moves_of_one_user_one_wins(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    plan = plan_user(env.world, EU_USER, EU)
    # The loser read "no journal" before the winner wrote it: the conditional create refuses it.
    real_get = env.world.directory.get
    stale = {"done": False}

    def stale_get(pk: str):
        if pk.startswith("move#") and not stale["done"]:
            stale["done"] = True
            Mover(env.world, owner="winner").lease.acquire(plan)  # the winner gets in between
            return None
        return real_get(pk)

    env.world.directory.get = stale_get  # type: ignore[method-assign]
    with pytest.raises(MoveRefused, match="another move of it started first"):
        Mover(env.world, owner="loser").run(plan)
    env.world.directory.get = real_get  # type: ignore[method-assign]
    journal = real_get(f"move#user#{EU_USER}")
    assert journal is not None and journal["owner"] == "winner" and journal["state"] == "planned"
    # A second move to another place is refused while the first is not finished, even with no lease.
    env.clock.now += LEASE_SECONDS + 1
    other = CellInfo("eu-west-3", "eu", "eu-west-3", env.world.cells[EU].shards, 10, 1)
    env.world.cells = {**env.world.cells, "eu-west-3": other}
    with pytest.raises(MoveRefused, match="already moving to eu-central-1"):
        Mover(env.world).run(plan_user(env.world, EU_USER, "eu-west-3"))


def test_rebalance_slice_is_deterministic_and_grows_by_adding() -> None:
    homes_ = [{"user": f"u{i}", "cell": US, "zone": "eu" if i % 4 else "us"} for i in range(4000)]
    five = rebalance_slice(homes_, US, "eu", 5)
    ten = rebalance_slice(homes_, US, "eu", 10)
    assert set(five) <= set(ten)
    assert all(
        not h["user"].endswith(("0", "4", "8")) or int(h["user"][1:]) % 4 for h in homes_ if h["user"] in five
    )
    assert 0.03 < len(five) / 3000 < 0.07
    assert rebalance_slice(homes_, US, "eu", 5) == five


@given(st.text(min_size=1, max_size=40))
def test_rebalance_bucket_is_stable_and_in_range(user: str) -> None:
    assert rebalance_bucket(user) == rebalance_bucket(user)
    assert 0 <= rebalance_bucket(user) < 10_000


def test_utilization_is_the_fuller_of_users_and_tenants() -> None:
    assert utilization(80, 100, 0, 10) == 80.0
    assert utilization(10, 100, 9, 10) == 90.0
    assert utilization(10, 100, 0, 0) == 10.0


def test_placement_never_fills_a_cell_beyond_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch, US)
    eu_b = CellInfo("eu-west-3", "eu", "eu-west-3", cells()[EU].shards, 3, 1)
    infos = cells(max_users=3, extra={"eu-west-3": eu_b})
    published: list[tuple[str, float]] = []
    with mock_aws():
        env = build(infos)
        weights = {EU: 50, "eu-west-3": 50}
        placed = [
            place_user(
                env.world.directory,
                infos,
                f"p{i}",
                "eu",
                weights,
                publish=lambda c, p: published.append((c, p)),
            )
            for i in range(6)
        ]
        assert sorted(placed) == [EU] * 3 + ["eu-west-3"] * 3
        with pytest.raises(MoveRefused, match="every cell is at capacity"):
            place_user(env.world.directory, infos, "p-late", "eu", weights)
        assert place_user(env.world.directory, infos, "p0", "eu", weights) == placed[0], "sticky"
        assert env.world.directory.get("user#p-late") is None
        assert max(p for _, p in published) == 100.0


def test_a_logical_shard_moves_between_physical_shards_of_its_cell(env: Env) -> None:
    us = env.world.cells[US]
    users = [f"s{i}" for i in range(60)]
    for u in users:
        seed_user(env, u, US, "us", docs=3, objects=0, rows=0)
    logical = us.shards.logical_of(users[0])
    source_db = us.shards.lookup(users[0])
    target_db = next(p for p in sorted(us.shards.physical) if p != source_db)
    movers = [u for u in users if us.shards.logical_of(u) == logical]
    before = {u: snapshot(env, u, US).docs for u in movers}
    plan = measure(env.world, plan_shard(env.world, US, logical, target_db))
    assert plan.volume.users == len(movers) and plan.volume.documents == 3 * len(movers)

    env.faults.point = "after:copied"
    with pytest.raises(Crash):
        Mover(env.world).run(plan_shard(env.world, US, logical, target_db))
    env.faults.point = None
    env.clock.now += LEASE_SECONDS + 1
    Mover(env.world).run(plan_shard(env.world, US, logical, target_db))

    journal = env.world.directory.get(f"move#shard#{US}:{logical}") or {}
    assert env.world.directory.get(f"shard#{US}#{logical}") == {
        "pk": f"shard#{US}#{logical}",
        "database": target_db,
        "movedBy": journal["moveId"],
    }
    for u in movers:
        assert snapshot(env, u, US, target_db).docs == before[u]
        assert api(env).write(u, "items/after", {"x": 1}) == US
        assert snapshot(env, u, US, target_db).docs[f"users/{u}/items/after"] == {"x": 1}
    others = [u for u in users if u not in movers]
    assert all(snapshot(env, u, US).docs for u in others), "other logical shards stay"
    env.clock.now += 25 * 3600
    list(cleanup(env.world))
    assert all(not snapshot(env, u, US, source_db).docs for u in movers)


def test_a_tenant_keeps_its_contract_zone(env: Env) -> None:
    with pytest.raises(MoveRefused, match=r"tenant acme-insurance .* residency zone is us"):
        plan_tenant(env.world, "acme-insurance", EU)
    with pytest.raises(MoveRefused, match="unknown tenant"):
        plan_tenant(env.world, "nobody", EU)


def test_a_tenant_moves_to_another_cell_of_its_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch, US)
    west = CellInfo("us-west-2", "us", "us-west-2", cells()[US].shards, 100, 2)
    with mock_aws():
        env = build(cells(extra={"us-west-2": west}))
        w = env.world
        db = w.firestore(US, "tenant-acme-insurance")
        for i in range(7):
            db.document(f"policies/p{i}").set({"i": i})
        db.document("policies/p0/claims/c1").set({"amount": 3})
        store = w.objects(US)
        env.aws.call(
            "s3", US, "put_object", Bucket=store.bucket, Key="tenants/acme-insurance/a.pdf", Body=b"pdf"
        )
        env.bigquery[US].insert(
            dataset_id(US, "acme-insurance"), "events", [{"tenant_id": "acme-insurance", "i": 1}]
        )
        Mover(w).run(plan_tenant(w, "acme-insurance", "us-west-2"))
        moved = w.firestore("us-west-2", "tenant-acme-insurance")
        assert moved.document("policies/p0/claims/c1").get().to_dict() == {"amount": 3}
        assert len(list(moved.collection("policies").list_documents())) == 7
        assert w.objects("us-west-2").list("tenants/acme-insurance/") == {"tenants/acme-insurance/a.pdf": 3}
        assert env.bigquery["us-west-2"].select(
            dataset_id("us-west-2", "acme-insurance"), "events", None, None
        ) == [{"tenant_id": "acme-insurance", "i": 1}]
        assert (w.directory.get("tenant#acme-insurance") or {})["cell"] == "us-west-2"
        assert env.kv.get("tenant:acme-insurance") == "us-west-2"
        assert plan_tenant(w, "acme-insurance", US).source == "us-west-2", "the directory now names its home"


def test_status_lists_moves_in_flight(env: Env) -> None:
    seed_user(env, EU_USER, US, "eu")
    env.faults.point = "after:frozen"
    with pytest.raises(Crash):
        Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    (journal,) = journals(env.world)
    assert journal["state"] == "frozen" and journal["subject"] == EU_USER


def test_the_dataset_name_matches_the_component() -> None:
    from cells.infra.components.data_stores import dataset_id as component_dataset_id

    for cell, tenant in [(US, None), (EU, None), (US, "acme-insurance")]:
        assert dataset_id(cell, tenant) == component_dataset_id(cell, tenant)


@pytest.mark.parametrize(
    "point", ["after:planned", "after:frozen", "after:copied", "after:flipped", "after:done"]
)
def test_an_api_instance_with_a_stale_home_is_stopped_by_the_fence(env: Env, point: str) -> None:
    """It read the home before the freeze: the fence in the shard database it writes to still stops it."""
    seed_user(env, EU_USER, US, "eu")
    home_before = env.world.directory.get(f"user#{EU_USER}")
    stale = MoveDirectory(env.aws, env.world.directory.region, env.world.directory.table)
    stale.get = lambda pk: home_before if pk == f"user#{EU_USER}" else env.world.directory.get(pk)  # type: ignore[method-assign]
    stale_api = Api(stale, env.world.firestore, env.world.cells, transactional)
    outcome: list[object] = []

    def write(at: str) -> None:
        if at == point:
            try:
                outcome.append(stale_api.write(EU_USER, "items/stale-writer", {"at": at}))
            except RetryableWrite as exc:
                outcome.append(exc)

    env.faults.hook = write
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    (result,) = outcome
    target_doc = snapshot(env, EU_USER, EU).docs.get(f"users/{EU_USER}/items/stale-writer")
    if point == "after:planned":  # before the freeze: applied, and the copy carries it
        assert result == US and target_doc == {"at": point}
    else:
        assert isinstance(result, RetryableWrite) and target_doc is None
        if point in ("after:flipped", "after:done"):
            assert result.moved_to == EU


def test_missing_rows_counts_duplicates() -> None:
    a, b = {"x": 1}, {"x": 2}
    assert missing_rows([a, a, b], [a]) == [a, b]
    assert missing_rows([a, a], [a, a]) == []
    assert missing_rows([a], [a, a]) == []
