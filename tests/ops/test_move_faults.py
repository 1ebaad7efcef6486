"""Faults during a move: a crash at every step (and mid-batch), writes during the move, stale copies.

Split from test_moves.py so that the suite's workers share the load.
"""

from __future__ import annotations

import pytest
from fake_firestore.transaction import FakeWriteBatch
from move_support import EU, US, Crash, Env, api, assert_converged, seed_user, snapshot

from cells.ops.move import Mover
from cells.ops.move_plan import LEASE_SECONDS, MoveRefused
from cells.ops.move_stores import RetryableWrite, dataset_id
from cells.ops.move_world import plan_user

EU_USER = "eu-user-7"


CRASH_POINTS = [
    ("after:planned", 1),
    ("precopy:documents:batch", 2),
    ("precopy:objects:item", 3),
    ("precopy:rows:table", 1),
    ("precopy:done", 1),
    ("after:frozen", 1),
    ("copy:documents:batch", 2),  # the writes made during the pre-copy: two batches
    ("copy:objects:item", 1),
    ("copy:rows:table", 1),
    ("after:copied", 1),
    ("after:verified", 1),
    ("flip:directory", 1),
    ("flip:kv", 1),
    ("after:flipped", 1),
    ("after:done", 1),
]


def writes_during_the_precopy(env: Env, user: str, seen: dict) -> None:
    """The user keeps working while the pre-copy runs: new and changed documents, an object, a row."""

    def hook(point: str) -> None:
        if point != "precopy:done" or seen:
            return
        the_api = api(env)
        for i in range(8):
            the_api.write(user, f"items/new-{i}", {"i": i})
        the_api.write(user, "items/d0001", {"n": "changed"})
        store = env.world.objects(US)
        env.aws.call("s3", US, "put_object", Bucket=store.bucket, Key=f"users/{user}/o000", Body=b"new bytes")
        env.aws.call("s3", US, "delete_object", Bucket=store.bucket, Key=f"users/{user}/o001")
        env.bigquery[US].insert(dataset_id(US), "events", [{"user_id": user, "i": 0, "table": "events"}])
        seen["before"] = snapshot(env, user, US)

    env.faults.hook = hook


@pytest.mark.parametrize(("point", "nth"), CRASH_POINTS)
def test_a_crash_at_any_step_and_a_rerun_converge(env: Env, point: str, nth: int) -> None:
    seed_user(env, EU_USER, US, "eu")
    seen: dict = {}
    writes_during_the_precopy(env, EU_USER, seen)
    env.faults.point, env.faults.nth = point, nth
    with pytest.raises(Crash):
        Mover(env.world, owner="first").run(plan_user(env.world, EU_USER, EU))
    if seen:
        assert snapshot(env, EU_USER, US) == seen["before"], "a crash leaves the source as the user left it"

    env.faults.point = None
    if point != "after:done":
        with pytest.raises(MoveRefused, match="another runner"):  # its lease still lives
            Mover(env.world, owner="second").run(plan_user(env.world, EU_USER, EU))
    env.clock.now += LEASE_SECONDS + 1
    Mover(env.world, owner="second").run(plan_user(env.world, EU_USER, EU))
    before = seen["before"]
    assert len(before.docs) == 20 and len(before.objects) == 4 and len(before.rows["events"]) == 6
    assert_converged(env, EU_USER, before, EU, "eu")
    assert env.world.directory.count(EU)["users"] == 1 and env.world.directory.count(US)["users"] == 0


def test_a_crash_in_the_middle_of_a_firestore_batch_converges(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worse than Firestore (whose batches are atomic): half a batch lands, then the process dies."""
    seed_user(env, EU_USER, US, "eu")
    before = snapshot(env, EU_USER, US)
    real_commit = FakeWriteBatch.commit
    calls = {"n": 0}

    def half_then_die(self: FakeWriteBatch, timeout: float | None = None):
        calls["n"] += 1
        if calls["n"] == 2:
            ops = self._write_ops  # type: ignore[attr-defined]
            self._write_ops = ops[: len(ops) // 2]  # type: ignore[attr-defined]
            real_commit(self)
            raise Crash("mid-batch")
        return real_commit(self, timeout)

    monkeypatch.setattr(FakeWriteBatch, "commit", half_then_die)
    with pytest.raises(Crash):
        Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    partial = snapshot(env, EU_USER, EU).docs
    assert 0 < len(partial) < len(before.docs)
    env.clock.now += LEASE_SECONDS + 1
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    assert_converged(env, EU_USER, before, EU, "eu")


def test_stale_copies_in_the_target_are_replaced_not_kept(env: Env) -> None:
    """Leftovers of an earlier aborted move must not survive as extra or altered documents and rows."""
    seed_user(env, EU_USER, US, "eu")
    before = snapshot(env, EU_USER, US)
    eu_db = env.world.firestore(EU, env.world.cells[EU].shards.lookup(EU_USER))
    eu_db.document(f"users/{EU_USER}/items/stale").set({"old": True})
    eu_db.document(f"users/{EU_USER}/items/d0001").set({"n": -1})
    env.bigquery[EU].insert(dataset_id(EU), "events", [{"user_id": EU_USER, "i": 99, "table": "events"}])
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    assert_converged(env, EU_USER, before, EU, "eu")


WRITE_POINTS = [
    "precopy:documents:batch",
    "after:frozen",
    "copy:documents:batch",
    "after:copied",
    "after:verified",
    "flip:kv",
    "after:flipped",
]


@pytest.mark.parametrize("point", WRITE_POINTS)
def test_a_write_during_the_move_is_applied_in_the_target_or_refused_retryably(env: Env, point: str) -> None:
    seed_user(env, EU_USER, US, "eu")
    the_api = api(env)
    accepted: dict[str, dict] = {}
    refused: list[str] = []

    def write(at: str) -> None:
        path = f"items/w-{len(accepted) + len(refused):03d}"
        try:
            the_api.write(EU_USER, path, {"at": at})
            accepted[f"users/{EU_USER}/{path}"] = {"at": at}
        except RetryableWrite as exc:
            assert exc.retry_after >= 0
            refused.append(at)

    write("before")
    env.faults.hook = write
    env.faults.point = point
    with pytest.raises(Crash):
        Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    env.faults.point = None
    env.clock.now += LEASE_SECONDS + 1
    Mover(env.world).run(plan_user(env.world, EU_USER, EU))
    env.faults.hook = None
    write("after")
    assert refused, "writes while frozen are refused"
    target_docs = snapshot(env, EU_USER, EU).docs
    for path, data in accepted.items():
        assert target_docs.get(path) == data, f"accepted write {path} lost"
    assert set(accepted) >= {f"users/{EU_USER}/items/w-000"}
    assert the_api.read(EU_USER, "items/w-000") == {"at": "before"}
